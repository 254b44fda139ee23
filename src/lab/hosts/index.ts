export { Fabric, missingNetworkSupport, sweepLeftovers, type HostSpec, type HostProcess } from './net.js';
export { startMultiHostLab, LAB_HOSTS, CONTROLLER_HOSTS, type MultiHostLab, type LabOptions } from './lab.js';
export {
  runScenario,
  startControllerSet,
  stopControllerSet,
  type ControllerSet,
  type RunOptions,
  type Scenario,
  type ScenarioResult,
  type FaultContext,
} from './nemesis.js';
export { ASYNC_STANDBY_LOSS, SCENARIOS, SHORT_SCHEDULE } from './scenarios.js';
export { STORE_NAME, type StandbyMode, type StoreHost } from './store.js';
export { check, leaderlessSeconds, type History, type LeaseSample, type Verdict } from './checker.js';
export type { Effect } from './site.js';
