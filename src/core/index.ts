export * from './types.js';
export { parseDuration, formatDuration } from './duration.js';
export type { ContextSource, SignalSource } from './ports.js';
