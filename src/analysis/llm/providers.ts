import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { Prompt } from './prompt.js';
import { LLM_ANSWER_JSON_SCHEMA } from './answer.js';

export type ProviderName = 'openai' | 'anthropic' | 'openai-compatible';

/** Everything a provider needs; resolved from config and the SDKs' environment variables. */
export interface LlmSettings {
  provider: ProviderName;
  model: string;
  baseURL?: string;
  apiKey?: string;
  api: 'chat' | 'responses';
  structuredOutput: 'json_schema' | 'json_object' | 'none';
  timeoutMs: number;
  retries: number;
  budgetMs: number;
  maxOutputTokens: number;
  maxPromptChars: number;
  maxCallsPerHour: number;
  maxCostPerCallUsd?: number;
  pricePerMtok?: { input: number; output: number };
  temperature: number;
}

/** What a provider returns: the raw answer (text or an already-parsed tool input) and usage. */
export interface ProviderReply {
  raw: unknown;
  refusal?: string;
  usage?: { input_tokens?: number; output_tokens?: number };
  model?: string;
}

export interface LlmProvider {
  readonly name: ProviderName;
  complete(prompt: Prompt, signal: AbortSignal): Promise<ProviderReply>;
}

const SCHEMA_NAME = 'incident_analysis';

/** OpenAI and OpenAI-compatible servers (Ollama, vLLM, LM Studio) through the official SDK. */
export class OpenAiProvider implements LlmProvider {
  readonly name: ProviderName;
  private readonly client: OpenAI;

  constructor(private readonly settings: LlmSettings) {
    this.name = settings.provider;
    this.client = new OpenAI({
      apiKey: settings.apiKey ?? 'not-needed',
      baseURL: settings.baseURL,
      timeout: settings.timeoutMs,
      // The analyzer does its one retry itself, inside its time budget.
      maxRetries: 0,
    });
  }

  async complete(prompt: Prompt, signal: AbortSignal): Promise<ProviderReply> {
    return this.settings.api === 'responses' ? this.responses(prompt, signal) : this.chat(prompt, signal);
  }

  private async chat(prompt: Prompt, signal: AbortSignal): Promise<ProviderReply> {
    const s = this.settings;
    const response_format =
      s.structuredOutput === 'json_schema'
        ? {
            type: 'json_schema' as const,
            json_schema: { name: SCHEMA_NAME, schema: { ...LLM_ANSWER_JSON_SCHEMA }, strict: true },
          }
        : s.structuredOutput === 'json_object'
          ? { type: 'json_object' as const }
          : undefined;
    const completion = await this.client.chat.completions.create(
      {
        model: s.model,
        messages: [
          { role: 'system', content: prompt.system },
          { role: 'user', content: prompt.user },
        ],
        ...(response_format ? { response_format } : {}),
        max_completion_tokens: s.maxOutputTokens,
        temperature: s.temperature,
      },
      { signal },
    );
    const message = completion.choices?.[0]?.message;
    if (!message) throw new Error('the response has no choices');
    return {
      raw: message.content ?? '',
      refusal: message.refusal ?? undefined,
      usage: {
        input_tokens: completion.usage?.prompt_tokens,
        output_tokens: completion.usage?.completion_tokens,
      },
      model: completion.model,
    };
  }

  private async responses(prompt: Prompt, signal: AbortSignal): Promise<ProviderReply> {
    const s = this.settings;
    const response = await this.client.responses.create(
      {
        model: s.model,
        instructions: prompt.system,
        input: prompt.user,
        max_output_tokens: s.maxOutputTokens,
        temperature: s.temperature,
        ...(s.structuredOutput === 'json_schema'
          ? {
              text: {
                format: {
                  type: 'json_schema' as const,
                  name: SCHEMA_NAME,
                  schema: { ...LLM_ANSWER_JSON_SCHEMA },
                  strict: true,
                },
              },
            }
          : s.structuredOutput === 'json_object'
            ? { text: { format: { type: 'json_object' as const } } }
            : {}),
      },
      { signal },
    );
    let refusal: string | undefined;
    for (const item of response.output ?? []) {
      if (item.type !== 'message') continue;
      for (const part of item.content) if (part.type === 'refusal') refusal = part.refusal;
    }
    return {
      raw: response.output_text ?? '',
      refusal,
      usage: { input_tokens: response.usage?.input_tokens, output_tokens: response.usage?.output_tokens },
      model: response.model,
    };
  }
}

/** Anthropic Messages through the official SDK; the answer's shape is enforced as a forced tool call. */
export class AnthropicProvider implements LlmProvider {
  readonly name: ProviderName = 'anthropic';
  private readonly client: Anthropic;

  constructor(private readonly settings: LlmSettings) {
    this.client = new Anthropic({
      apiKey: settings.apiKey ?? null,
      baseURL: settings.baseURL,
      timeout: settings.timeoutMs,
      maxRetries: 0,
    });
  }

  async complete(prompt: Prompt, signal: AbortSignal): Promise<ProviderReply> {
    const s = this.settings;
    const message = await this.client.messages.create(
      {
        model: s.model,
        max_tokens: s.maxOutputTokens,
        system: prompt.system,
        messages: [{ role: 'user', content: prompt.user }],
        tools: [
          {
            name: SCHEMA_NAME,
            description: 'Report the incident analysis.',
            input_schema: { ...LLM_ANSWER_JSON_SCHEMA, required: [...LLM_ANSWER_JSON_SCHEMA.required] },
          },
        ],
        tool_choice: { type: 'tool', name: SCHEMA_NAME },
      },
      { signal },
    );
    const usage = { input_tokens: message.usage?.input_tokens, output_tokens: message.usage?.output_tokens };
    if (message.stop_reason === 'refusal') return { raw: '', refusal: 'the model refused', usage };
    const tool = message.content.find((block) => block.type === 'tool_use');
    if (tool && tool.type === 'tool_use') return { raw: tool.input, usage, model: message.model };
    const text = message.content
      .map((block) => (block.type === 'text' ? block.text : ''))
      .join('')
      .trim();
    return { raw: text, usage, model: message.model };
  }
}

export function createProvider(settings: LlmSettings): LlmProvider {
  return settings.provider === 'anthropic' ? new AnthropicProvider(settings) : new OpenAiProvider(settings);
}
