export * from './types.js';
export { parseDuration, formatDuration, formatSeconds } from './duration.js';
export type { ContextSource, SignalSource } from './ports.js';
