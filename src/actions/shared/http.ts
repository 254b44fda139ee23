import { request } from 'undici';
import { z } from 'zod';
import { redactText, redactUrl } from '../../log/index.js';
import { StepError } from '../types.js';

export interface HttpAnswer {
  status: number;
  body: string;
  ms: number;
}

/** One HTTP request with a deadline; network errors become a StepError naming the URL. */
export async function httpCall(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
  } = {},
): Promise<HttpAnswer> {
  const started = Date.now();
  const signals = [
    AbortSignal.timeout(options.timeoutMs ?? 10_000),
    ...(options.signal ? [options.signal] : []),
  ];
  try {
    const res = await request(url, {
      method: (options.method ?? 'GET') as 'GET',
      headers: options.headers,
      body: options.body,
      signal: AbortSignal.any(signals),
    });
    const body = await res.body.text();
    return { status: res.statusCode, body: body.slice(0, 64 * 1024), ms: Date.now() - started };
  } catch (error) {
    const e = error as { code?: string; message?: string; name?: string };
    if (options.signal?.aborted)
      throw new StepError(`${redactUrl(url)}: stopped (${String(options.signal.reason)})`);
    throw new StepError(
      `${redactUrl(url)}: ${e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${options.timeoutMs ?? 10_000} ms` : redactText(e.code ?? e.message ?? String(error))}`,
    );
  }
}

/** An HTTP health check: a status (default any 2xx) and optionally a text the body must contain. */
export const httpCheckSchema = z
  .object({
    url: z.string().url(),
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
    expect_status: z.array(z.number().int()).optional(),
    contains: z.string().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    timeout_ms: z.number().int().min(1).default(5000),
  })
  .strict();

export type HttpCheck = z.output<typeof httpCheckSchema>;

/** Runs a check; never throws: a failure is a reason. */
export async function runHttpCheck(
  check: HttpCheck,
  signal?: AbortSignal,
): Promise<{ ok: boolean; detail: string }> {
  try {
    const answer = await httpCall(check.url, {
      method: check.method,
      headers: check.headers,
      timeoutMs: check.timeout_ms,
      signal,
    });
    const statusOk = check.expect_status
      ? check.expect_status.includes(answer.status)
      : answer.status >= 200 && answer.status < 300;
    if (!statusOk) return { ok: false, detail: `${check.url}: HTTP ${answer.status}` };
    if (check.contains && !answer.body.includes(check.contains)) {
      return {
        ok: false,
        detail: `${check.url}: HTTP ${answer.status} but the body lacks "${check.contains}"`,
      };
    }
    return { ok: true, detail: `${check.url}: HTTP ${answer.status} in ${answer.ms} ms` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}
