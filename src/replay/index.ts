export {
  loadScenarioFile,
  parseScenario,
  findScenarioFiles,
  ScenarioError,
  type Scenario,
  type ScenarioStep,
} from './scenario.js';
export { replayScenario, type ReplayResult, type ReplayDecision, type ReplayOptions } from './replay.js';
export { evaluate, type Evaluation } from './evaluate.js';
export { summarize, formatSummary, formatResult, type ReplaySummary } from './format.js';
export {
  exportScenario,
  type ExportOptions,
  type ExportResult,
  type RecordedCycle,
  type ScenarioExpectationInput,
} from './export.js';
