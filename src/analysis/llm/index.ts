export { LlmAnalyzer, opinionToAnalysis, type LlmOpinion } from './analyzer.js';
export { resolveLlmSettings, LlmSettingsError } from './settings.js';
export { parseAnswer, llmAnswerSchema, LLM_ANSWER_JSON_SCHEMA, type LlmAnswer } from './answer.js';
export { buildPrompt, SYSTEM_ROLE, type Prompt } from './prompt.js';
export { createProvider, type LlmProvider, type LlmSettings, type ProviderName } from './providers.js';
export { LlmCallLog, type CallLogState, type CallLogStore } from './calls.js';
