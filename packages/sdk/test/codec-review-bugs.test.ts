import { describe, expect, it } from 'vitest';
import { decodeRecord, defineRecord, encodeRecord, t, viewRecord } from '@tabstore/sdk';

/** Regression tests for bugs found in a review of the codec and the model. */

describe('record strings', () => {
  const Text = defineRecord({ name: 'Text', typeId: 950, version: 1, fields: { text: t.string(), list: t.stringList() } });

  it('keep a leading U+FEFF (byte order mark) whatever else the string holds', () => {
    // U+FFFD sends the decoder to its strict path; U+FEFF first must not be taken for a BOM and dropped.
    for (const s of ['\uFEFF\uFFFD', '\uFEFF', `\uFEFF${'é'.repeat(40)}`, `\uFEFF\uFFFD${'x'.repeat(100)}`]) {
      const bytes = encodeRecord(Text, { text: s, list: [s, 'a'] }).slice();
      expect(decodeRecord(Text, bytes)).toEqual({ text: s, list: [s, 'a'] });
      expect(viewRecord(Text, bytes).text).toBe(s);
      expect(viewRecord(Text, bytes).list).toEqual([s, 'a']);
    }
  });
});
