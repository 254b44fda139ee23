export {
  RunbookEngine,
  resumeInterruptedRuns,
  type EngineOptions,
  type RunEvent,
  type RunHandle,
} from './engine.js';
export {
  Journal,
  RunBusyError,
  RunStateError,
  CooldownError,
  RUNBOOK_MIGRATIONS,
  type RunRow,
  type RunStatus,
  type StepRow,
  type StageRow,
  type AttemptRow,
  type ApprovalRow,
  type RunDecision,
} from './journal.js';
export {
  buildPlan,
  loadRunbooks,
  configuredRunbooks,
  PlanError,
  type Plan,
  type PlannedStage,
  type PlannedStep,
} from './plan.js';
export {
  readiness,
  runbooksForSite,
  checkPlan,
  formatReadiness,
  type RunbookReadiness,
  type StepReadiness,
} from './readiness.js';
export { DRILL_TRIGGER, drillCleanupOf, drillGaps, isDrillRun, type DrillCleanup } from './drill-mode.js';
export { buildReport, formatReport, type RunReport } from './report.js';
export { formatSeconds } from '../core/index.js';
export {
  FailbackMonitor,
  failbackReadiness,
  registerFailbackMetrics,
  wayBackInProgress,
  type FailbackReadiness,
  type FailbackReadinessView,
} from './failback-readiness.js';
export { createRunbookDecisionSink, type RunbookDecisionSink } from './sink.js';
export {
  FenceWatcher,
  type FencePage,
  type FenceWatchOptions,
  type FenceWatchResult,
} from './fence-watch.js';
export { fenceRunbook, fencedFailover, FAILOVER_RUNBOOKS } from './plan.js';
export {
  ReadinessMonitor,
  readinessFailures,
  DEFAULT_READINESS_INTERVAL_S,
  type ReadinessReport,
  type ReadinessMonitorOptions,
} from './monitor.js';
export { lintRunbooks, type LintFinding } from './lint.js';
