export * from './ids.js';
export * from './schemas.js';
export * from './nodes.js';
export * from './legacy-json.js';
