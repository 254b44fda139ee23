export { Controller, type ControllerOptions, type ControllerStats, type DecisionSink } from './controller.js';
export type { CycleRecord } from '../store/index.js';
