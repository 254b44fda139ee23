export { Controller, type ControllerOptions, type ControllerStats, type DecisionSink } from './controller.js';
export type { CycleRecord } from '../store/index.js';
export { buildController, openHistory, servingSiteOf, type BuiltController } from './build.js';
export { LeaderElector, type LeaderStatus, type LeaderOptions } from './leader.js';
