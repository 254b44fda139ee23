import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import type { Analysis, Level } from '../../core/index.js';
import type { AnalysisInput, Analyzer } from '../analyzer.js';
import { parseAnswer, type LlmAnswer } from './answer.js';
import { buildPrompt } from './prompt.js';
import { LlmCallLog } from './calls.js';
import { createProvider, type LlmProvider, type LlmSettings, type ProviderReply } from './providers.js';

/** What one consultation produced: a validated answer, or why there is none, plus the record. */
export interface LlmOpinion {
  ok: boolean;
  answer?: LlmAnswer;
  problem?: string;
  /** Prompt, raw answer, latency, attempts, usage: kept in `analysis.extra.llm`. */
  record: Record<string, unknown>;
}

/** `${aws-sm:...}` / `${azure-kv:...}` as written: a secret that was not read (src/secrets). */
const UNREAD_SECRET = /\$\{(?:aws-sm|azure-kv):[^}]*\}/;

const CONSULTED_LEVELS: readonly Level[] = ['region_failover', 'dr_failover'];

function describeError(error: unknown, settings: LlmSettings): string {
  const e = error as { status?: number; name?: string; message?: string; code?: string };
  if (e?.name === 'AbortError' || /abort/i.test(e?.message ?? ''))
    return `no answer within the time budget (${settings.budgetMs} ms)`;
  if (e?.name === 'APIConnectionTimeoutError' || /timed? ?out/i.test(e?.message ?? ''))
    return `the request timed out after ${settings.timeoutMs} ms`;
  if (typeof e?.status === 'number') {
    const hint =
      e.status === 429
        ? 'rate limited or out of quota'
        : e.status === 401 || e.status === 403
          ? 'the API key was refused; check OPENAI_API_KEY / ANTHROPIC_API_KEY or llm.api_key'
          : e.status === 404
            ? 'unknown model or wrong base URL'
            : e.status >= 500
              ? 'server error'
              : 'request refused';
    return `HTTP ${e.status} from the ${settings.provider} API (${hint})`;
  }
  if (e?.name === 'APIConnectionError')
    return `cannot reach the ${settings.provider} API at ${settings.baseURL ?? 'its default URL'}`;
  return `the ${settings.provider} call failed: ${(e?.message ?? String(error)).split('\n')[0]}`;
}

/** First wait before asking a server again that answered 429 or 503 without a Retry-After. */
const OVERLOAD_BACKOFF_MS = 100;

/** 429 and 503 say the server is overloaded: asking again at once would add to it. */
function overloaded(error: unknown): boolean {
  const status = (error as { status?: number })?.status;
  return status === 429 || status === 503;
}

function retryable(error: unknown): boolean {
  if (error instanceof InvalidAnswer) return true;
  const status = (error as { status?: number })?.status;
  if (typeof status !== 'number') return true;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The model answered, but not with the schema's JSON: worth asking again. */
class InvalidAnswer extends Error {}

/** Asking again cannot help: the model refused, or the API asks for a wait longer than the budget. */
class FinalProblem extends Error {
  constructor(
    message: string,
    readonly refused = false,
  ) {
    super(message);
  }
}

/**
 * How long a 429 asks the client to wait: OpenAI's `retry-after-ms`, else `Retry-After` in
 * seconds or as an HTTP date (RFC 9110 section 10.2.3). Undefined when the answer gives none.
 */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  const headers = (error as { headers?: unknown })?.headers;
  if (!headers) return undefined;
  const get = (name: string): string | undefined =>
    headers instanceof Headers
      ? (headers.get(name) ?? undefined)
      : (headers as Record<string, string | undefined>)[name];
  const ms = Number(get('retry-after-ms'));
  if (get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The LLM second opinion. Its answer is validated against the schema; any
 * failure (timeout, HTTP error, refusal, invalid JSON, wrong fields) becomes
 * an `escalate` with low confidence. Alone, it never fails over: a failover it
 * recommends is handed to a human, because one piece of model text must not
 * move production; the ensemble is what can act on its agreement.
 */
export class LlmAnalyzer implements Analyzer {
  readonly name = 'llm';
  readonly gated = true;
  private readonly provider: LlmProvider;

  constructor(
    readonly settings: LlmSettings,
    provider?: LlmProvider,
    /** The calls llm.max_calls_per_hour counts; pass the same log to an analyzer built again. */
    private readonly calls: LlmCallLog = new LlmCallLog(),
  ) {
    this.provider = provider ?? createProvider(settings);
  }

  wants(level: Level): boolean {
    return CONSULTED_LEVELS.includes(level);
  }

  /** Asks the model once (plus one retry), inside the time budget. Never rejects. */
  async consult(input: AnalysisInput): Promise<LlmOpinion> {
    const s = this.settings;
    const prompt = buildPrompt(input, { maxChars: s.maxPromptChars });
    const record: Record<string, unknown> = {
      provider: s.provider,
      model: s.model,
      prompt: { system: prompt.system, user: prompt.user, chars: prompt.system.length + prompt.user.length },
      trimmed: prompt.trimmed,
    };
    const fail = (problem: string): LlmOpinion => ({ ok: false, problem, record: { ...record, problem } });

    if (prompt.system.length + prompt.user.length > s.maxPromptChars)
      return fail(`the prompt exceeds llm.max_prompt_chars (${s.maxPromptChars}) even after trimming`);
    // A secret reference `phoenix run` could not read stays as written: it is never sent as the key (nor
    // used as the address) of a model API.
    const unread = [s.apiKey, s.baseURL].find((v) => v !== undefined && UNREAD_SECRET.test(v));
    if (unread)
      return fail(
        `${unread === s.apiKey ? 'llm.api_key' : 'llm.base_url'} holds ${UNREAD_SECRET.exec(unread)![0]}, which could not be read from its store; the model is not called until it can be`,
      );
    if ((s.provider === 'openai' || s.provider === 'anthropic') && !s.apiKey) {
      const variable = s.provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY';
      return fail(`no API key; set ${variable} or llm.api_key`);
    }
    if (s.maxCostPerCallUsd !== undefined && s.pricePerMtok) {
      const inputTokens = Math.ceil((prompt.system.length + prompt.user.length) / 4);
      const cost = (inputTokens * s.pricePerMtok.input + s.maxOutputTokens * s.pricePerMtok.output) / 1e6;
      record.estimated_cost_usd = Number(cost.toFixed(6));
      if (cost > s.maxCostPerCallUsd)
        return fail(
          `estimated cost $${cost.toFixed(4)} exceeds llm.max_cost_per_call_usd ($${s.maxCostPerCallUsd})`,
        );
    }
    if (!(await this.calls.take(input.now, s.maxCallsPerHour)))
      return fail(`call cap reached: ${s.maxCallsPerHour} calls in the last hour (llm.max_calls_per_hour)`);

    return this.ask(prompt, record);
  }

  /**
   * Asks with p-retry inside the time budget: an invalid answer, a timeout, 408/409/429/5xx are
   * asked again (up to llm.retries more times); a refusal or another HTTP error is final. A 429's
   * Retry-After is waited out, or ends the consultation at once when it would outlast the budget.
   */
  private async ask(prompt: Parameters<LlmProvider['complete']>[0], record: Record<string, unknown>) {
    const s = this.settings;
    const started = performance.now();
    const budget = AbortSignal.timeout(s.budgetMs);
    let reply: ProviderReply | undefined;
    let attempts = 0;
    const finish = (outcome: Omit<LlmOpinion, 'record'>, extra: Record<string, unknown> = {}): LlmOpinion => {
      const latency_ms = Math.round(performance.now() - started);
      return { ...outcome, record: { ...record, usage: reply?.usage, latency_ms, attempts, ...extra } };
    };
    try {
      const answer = await pRetry(
        async (attempt) => {
          attempts = attempt;
          reply = await this.provider.complete(prompt, budget);
          if (reply.refusal)
            throw new AbortError(new FinalProblem(`the model refused: ${reply.refusal.slice(0, 200)}`, true));
          const parsed = parseAnswer(reply.raw);
          record.answer = reply.raw;
          if (!parsed.ok) throw new InvalidAnswer(parsed.problem);
          return parsed.answer;
        },
        {
          retries: s.retries,
          signal: budget,
          // The wait is chosen per error below: a server that says it is overloaded gets a backoff,
          // a malformed answer or a one-off failure is asked again at once (the time budget is short).
          minTimeout: 0,
          shouldRetry: ({ error }) => retryable(error),
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft === 0) return;
            const asked = retryAfterMs(error);
            if (asked === undefined) {
              const backoff = overloaded(error) ? OVERLOAD_BACKOFF_MS * 2 ** (attemptNumber - 1) : 0;
              if (backoff > 0) await sleep(backoff, undefined, { signal: budget }).catch(() => undefined);
              return;
            }
            const wait = asked;
            const left = s.budgetMs - (performance.now() - started);
            if (wait > left)
              throw new FinalProblem(
                `${describeError(error, s)}; it asks to retry after ${Math.ceil(wait / 1000)} s, beyond the time budget (${s.budgetMs} ms)`,
              );
            await sleep(wait, undefined, { signal: budget });
          },
        },
      );
      return finish({ ok: true, answer }, { answer: reply?.raw });
    } catch (error) {
      const problem = budget.aborted
        ? `no answer within the time budget (${s.budgetMs} ms)`
        : error instanceof FinalProblem || error instanceof InvalidAnswer
          ? error.message
          : describeError(error, s);
      if (error instanceof FinalProblem && error.refused) reply = undefined;
      return finish({ ok: false, problem }, { problem });
    }
  }

  async analyze(input: AnalysisInput): Promise<Analysis> {
    const opinion = await this.consult(input);
    return opinionToAnalysis(opinion, input, { alone: true });
  }
}

/** The analysis an opinion stands for. Anything short of a sound, sure answer never recommends a failover. */
export function opinionToAnalysis(
  opinion: LlmOpinion,
  input: AnalysisInput,
  options: { alone: boolean },
): Analysis {
  const extra = { llm: opinion.record };
  if (!opinion.ok || !opinion.answer) {
    return {
      analyzer: 'llm',
      root_cause: `no usable LLM second opinion: ${opinion.problem}`,
      root_cause_category: 'unknown',
      confidence: 'low',
      recommended_action: 'escalate',
      reasoning: `The LLM gave no usable answer (${opinion.problem}); a human decides.`,
      evidence: [{ source: 'llm', item: 'failure', weight: 0, says: opinion.problem ?? 'no answer' }],
      extra,
    };
  }
  const a = opinion.answer;
  const analysis: Analysis = {
    analyzer: 'llm',
    root_cause: a.root_cause,
    root_cause_category: a.root_cause_category,
    confidence: a.confidence,
    recommended_action: a.recommended_action,
    reasoning: a.reasoning,
    evidence: [
      { source: 'llm', item: String(opinion.record.model ?? 'model'), weight: 0, says: a.root_cause },
    ],
    extra,
  };
  const held: string[] = [];
  if (a.recommended_action === 'trigger_dr') {
    if (a.confidence !== 'high') held.push(`its confidence is ${a.confidence}`);
    if (!input.decision.dr_categories.includes(a.root_cause_category))
      held.push(`category ${a.root_cause_category} is not one DR can fix`);
  }
  if (options.alone && (a.recommended_action === 'trigger_dr' || a.recommended_action === 'region_failover'))
    held.push('an LLM answer alone never starts a failover (use the ensemble analyzer)');
  if (held.length > 0) {
    analysis.recommended_action = 'escalate';
    analysis.reasoning = `The LLM recommended ${a.recommended_action}, held back: ${held.join('; ')}. ${a.reasoning}`;
  }
  return analysis;
}
