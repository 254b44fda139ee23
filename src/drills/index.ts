export { DrillScheduler, type DrillSchedulerOptions } from './scheduler.js';
export { DrillStore, DRILL_MIGRATIONS, type DrillRow, type DrillResult, type DrillStatus } from './store.js';
