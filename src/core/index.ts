export * from './types.js';
export { parseDuration, formatDuration } from './duration.js';
