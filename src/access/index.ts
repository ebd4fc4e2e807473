export * from './types.js';
export { decide } from './decide.js';
export { canonicalCardNumber, maskCardNumber } from './credentials.js';
