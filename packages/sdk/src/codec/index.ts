export { CodecError, isCodecError, type CodecErrorCode } from './errors.js';
export { ByteWriter } from './byte-writer.js';
export {
  t,
  defineRecord,
  type FieldKind,
  type FieldKindName,
  type FieldMap,
  type RecordSchema,
  type RecordOf,
  type ValuesOf,
} from './schema.js';
export {
  encodeRecord,
  viewRecord,
  decodeRecord,
  fieldReader,
  verifyRecord,
  readHeader,
  recordTypeOf,
  detectFormat,
  viewedBytes,
  RECORD_MARKER,
  FORMAT_VERSION,
  type EncodeOptions,
  type RecordHeader,
  type RecordView,
  type ViewValuesOf,
  type StoredFormat,
} from './record.js';
export * from './metadata.js';
export { encodeKey, encodeKeyAfter, decodeKey, compareKeyTuples, keyPrefix, tupleScan, type KeyPart, type KeyTuple } from './keys.js';
