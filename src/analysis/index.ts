export type { Analyzer, AnalysisInput, CycleObservation } from './analyzer.js';
export { ThresholdAnalyzer } from './threshold.js';
export { applyPolicy, type PolicyInput, type PolicyState } from './policy.js';
export { createAnalyzer, ANALYZER_NAMES, type AnalyzerName } from './registry.js';
export { vantageQuorumDown } from './evidence/index.js';
export { LlmCallLog, type CallLogState } from './llm/index.js';
