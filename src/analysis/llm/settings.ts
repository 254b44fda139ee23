import type { PhoenixConfig } from '../../config/index.js';
import type { LlmSettings, ProviderName } from './providers.js';

const PROVIDERS: readonly ProviderName[] = ['openai', 'anthropic', 'openai-compatible'];
const DEFAULT_MODELS: Partial<Record<ProviderName, string>> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-sonnet-4-5',
};

/** A setting the user must fix; the message names it and the fix. */
export class LlmSettingsError extends Error {
  override name = 'LlmSettingsError';
}

/**
 * Resolves the LLM settings: the `llm:` section first, then PHOENIX_LLM_PROVIDER /
 * PHOENIX_LLM_MODEL and the SDKs' own variables (OPENAI_BASE_URL, OPENAI_API_KEY,
 * ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY), then defaults.
 */
export function resolveLlmSettings(config: PhoenixConfig, env: NodeJS.ProcessEnv = process.env): LlmSettings {
  const section = config.raw.llm ?? {};
  const envProvider = env.PHOENIX_LLM_PROVIDER?.trim();
  if (envProvider && !PROVIDERS.includes(envProvider as ProviderName)) {
    throw new LlmSettingsError(
      `PHOENIX_LLM_PROVIDER="${envProvider}" is not a provider; use one of: ${PROVIDERS.join(', ')}`,
    );
  }
  const provider: ProviderName =
    section.provider ??
    (envProvider as ProviderName | undefined) ??
    (env.ANTHROPIC_API_KEY && !env.OPENAI_API_KEY ? 'anthropic' : 'openai');
  const model = section.model ?? (env.PHOENIX_LLM_MODEL?.trim() || DEFAULT_MODELS[provider]);
  if (!model) {
    throw new LlmSettingsError(
      `no model for provider ${provider}; set llm.model or PHOENIX_LLM_MODEL (e.g. llama3.1 for Ollama)`,
    );
  }
  const anthropic = provider === 'anthropic';
  const baseURL =
    section.base_url ?? ((anthropic ? env.ANTHROPIC_BASE_URL : env.OPENAI_BASE_URL) || undefined);
  if (provider === 'openai-compatible' && !baseURL) {
    throw new LlmSettingsError(
      'provider openai-compatible needs a base URL; set llm.base_url or OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama)',
    );
  }
  const apiKey = section.api_key || (anthropic ? env.ANTHROPIC_API_KEY : env.OPENAI_API_KEY) || undefined;
  const timeoutMs = (section.timeout ?? 20) * 1000;
  const retries = section.retries ?? 1;
  return {
    provider,
    model,
    baseURL,
    apiKey,
    api: section.api ?? 'chat',
    structuredOutput: section.structured_output ?? 'json_schema',
    timeoutMs,
    retries,
    budgetMs: (section.budget ?? 25) * 1000,
    maxOutputTokens: section.max_output_tokens ?? 800,
    maxPromptChars: section.max_prompt_chars ?? 24_000,
    maxCallsPerHour: section.max_calls_per_hour ?? 120,
    maxCostPerCallUsd: section.max_cost_per_call_usd,
    pricePerMtok: section.price_per_mtok,
    temperature: section.temperature ?? 0,
  };
}
