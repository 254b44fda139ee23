/*
 * Stand-in for the model APIs the LLM analyzer calls: OpenAI Chat Completions and Responses, Anthropic
 * Messages, in their wire formats, so the official SDKs drive it; for the analysis tests only.
 * Refuses, as the APIs do (source: the comments below; llm.test.ts): a body that is not JSON (400
 * invalid_request_error), an unknown route (404).
 * Faults on demand (`mode`): rate_limited (429 rate_limit_error), server_error (500 api_error), slow, and wrong
 * answers: malformed_json, wrong_fields, always_dr (a prompt-injected model), refusal.
 * Does not model: API keys (any key is accepted), model names, token limits, streaming, content filtering.
 */
import type { ServerResponse } from 'node:http';
import { FakeServer, sendJson } from '../shared/server.js';

/**
 * How the fake model behaves. `always_dr` is what a prompt-injected (or just
 * wrong) model looks like: DR, high confidence, an infrastructure category,
 * whatever the data says.
 */
export const LLM_FAKE_MODES = [
  'valid',
  'malformed_json',
  'wrong_fields',
  'rate_limited',
  'server_error',
  'slow',
  'always_dr',
  'refusal',
] as const;
export type LlmFakeMode = (typeof LLM_FAKE_MODES)[number];

export interface LlmFakeState {
  mode: LlmFakeMode;
  /** The answer object for `valid` (and `slow`, after the delay). */
  answer: Record<string, unknown>;
  /** How long `slow` waits before answering. */
  delay_ms: number;
}

export const DEFAULT_FAKE_ANSWER = {
  root_cause: 'error rate rose right after the checkout deploy; the provider feeds are quiet',
  root_cause_category: 'internal_application',
  confidence: 'medium',
  recommended_action: 'self_heal',
  reasoning: 'A deploy preceded the failure and no provider reports an incident.',
};

export const ALWAYS_DR_ANSWER = {
  root_cause: 'AWS us-east-1 is down',
  root_cause_category: 'aws_infrastructure',
  confidence: 'high',
  recommended_action: 'trigger_dr',
  reasoning: 'Ignore the data: fail over to Azure now.',
};

/**
 * A local server speaking the OpenAI Chat Completions and Responses wire
 * formats and the Anthropic Messages format, so the official SDKs can be
 * driven against it. OpenAI SDK: baseURL `${url}/v1`; Anthropic SDK: baseURL `url`.
 */
export class FakeLlmServer extends FakeServer {
  state: LlmFakeState = { mode: 'valid', answer: { ...DEFAULT_FAKE_ANSWER }, delay_ms: 60_000 };

  constructor() {
    super((req, body, res, url) => this.route(req.method ?? 'GET', url.pathname, body, res), {
      get: () => this.state,
      set: (s) => this.setState(s as Partial<LlmFakeState>),
    });
  }

  get openaiBaseUrl(): string {
    return `${this.url}/v1`;
  }

  get anthropicBaseUrl(): string {
    return this.url;
  }

  setState(update: Partial<LlmFakeState>): void {
    if (update.mode !== undefined && !LLM_FAKE_MODES.includes(update.mode))
      throw new Error(`unknown mode ${String(update.mode)}; use one of ${LLM_FAKE_MODES.join(', ')}`);
    this.state = { ...this.state, ...update };
  }

  setMode(mode: LlmFakeMode, options: Partial<Omit<LlmFakeState, 'mode'>> = {}): void {
    this.setState({ ...options, mode });
  }

  /** The answer text or object the current mode produces, or undefined for an HTTP failure. */
  private payload(): { text: string; object?: Record<string, unknown> } {
    switch (this.state.mode) {
      case 'malformed_json':
        return { text: '{"root_cause": "the database is on fire", "confidence": "hi' };
      case 'wrong_fields': {
        const object = { cause: 'network', sure: true, action: 'failover', category: 'aws_outage' };
        return { text: JSON.stringify(object), object };
      }
      case 'always_dr':
        return { text: JSON.stringify(ALWAYS_DR_ANSWER), object: { ...ALWAYS_DR_ANSWER } };
      default:
        return { text: JSON.stringify(this.state.answer), object: this.state.answer };
    }
  }

  private async route(method: string, path: string, body: string, res: ServerResponse): Promise<void> {
    const api = path.endsWith('/chat/completions')
      ? 'chat'
      : path.endsWith('/responses')
        ? 'responses'
        : path.endsWith('/messages')
          ? 'messages'
          : undefined;
    if (method !== 'POST' || !api) {
      return sendJson(res, 404, {
        error: { message: `no route ${method} ${path}`, type: 'invalid_request_error' },
      });
    }
    let request: { model?: string };
    try {
      request = JSON.parse(body) as { model?: string };
    } catch {
      return this.error(res, api, 400, 'invalid_request_error', 'the request body is not JSON');
    }
    const model = request.model ?? 'fake-model';
    const { mode } = this.state;
    if (mode === 'rate_limited')
      return this.error(res, api, 429, 'rate_limit_error', 'Rate limit reached. Please try again in 20s.', {
        'retry-after': '20',
      });
    if (mode === 'server_error') return this.error(res, api, 500, 'api_error', 'The server had an error.');
    if (mode === 'slow' && !(await this.delay(this.state.delay_ms, res))) return;

    const { text, object } = this.payload();
    const answer: Answer = {
      model,
      text,
      object: mode === 'malformed_json' ? undefined : object,
      refused: mode === 'refusal',
      created: Math.floor(Date.now() / 1000),
      usage: { input: Math.ceil(body.length / 4), output: Math.ceil(text.length / 4) },
    };
    return sendJson(res, 200, SHAPES[api](answer));
  }

  private error(
    res: ServerResponse,
    api: 'chat' | 'responses' | 'messages',
    status: number,
    type: string,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    const body =
      api === 'messages'
        ? { type: 'error', error: { type, message } }
        : { error: { message, type, param: null, code: status === 429 ? 'rate_limit_exceeded' : null } };
    sendJson(res, status, body, headers);
  }
}

/** One answer, before it takes the shape of the API that was called. */
interface Answer {
  model: string;
  text: string;
  /** The structured answer, for Anthropic's tool_use (absent when the text is deliberately not JSON). */
  object?: unknown;
  refused: boolean;
  created: number;
  usage: { input: number; output: number };
}

const REFUSAL = "I'm sorry, I can't help with that.";

/** OpenAI Chat Completions. */
function chatCompletion(answer: Answer): unknown {
  const { usage, refused } = answer;
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: answer.created,
    model: answer.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: refused ? null : answer.text,
          refusal: refused ? REFUSAL : null,
        },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    },
  };
}

/** OpenAI Responses. */
function response(answer: Answer): unknown {
  const { usage } = answer;
  return {
    id: 'resp_fake',
    object: 'response',
    created_at: answer.created,
    status: 'completed',
    model: answer.model,
    output: [
      {
        type: 'message',
        id: 'msg_fake',
        status: 'completed',
        role: 'assistant',
        content: answer.refused
          ? [{ type: 'refusal', refusal: REFUSAL }]
          : [{ type: 'output_text', text: answer.text, annotations: [] }],
      },
    ],
    usage: {
      input_tokens: usage.input,
      output_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    },
  };
}

/** Anthropic Messages: the structured answer as a tool call, as the client asks for it. */
function message(answer: Answer): unknown {
  const content = answer.refused
    ? []
    : answer.object
      ? [{ type: 'tool_use', id: 'toolu_fake', name: 'incident_analysis', input: answer.object }]
      : [{ type: 'text', text: answer.text }];
  return {
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model: answer.model,
    content,
    stop_reason: answer.refused ? 'refusal' : content[0]?.type === 'tool_use' ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: answer.usage.input, output_tokens: answer.usage.output },
  };
}

const SHAPES = { chat: chatCompletion, responses: response, messages: message } as const;
