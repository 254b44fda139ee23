import type { Dispatcher } from 'undici';
import type { LimitFunction } from 'p-limit';
import { formatSeconds, type Signal } from '../core/index.js';
import type { ProbeType } from '../config/sections/probes.js';

/** What every probe run receives: its abort signal and the process-wide limits it must respect. */
export interface ProbeRunContext {
  /** Aborted when the probe's deadline passes or the controller stops. */
  signal: AbortSignal;
  /** Caps checks in flight across every probe. */
  limit: LimitFunction;
  /** HTTP connection pools with keep-alive, verifying certificates and not. */
  http: { verified: Dispatcher; insecure: Dispatcher };
}

/** One configured probe: measures one signal. Never throws from `run` on purpose; `runProbe` catches anyway. */
export interface Probe {
  readonly name: string;
  readonly type: ProbeType;
  readonly timeout_s: number;
  run(context: ProbeRunContext): Promise<Signal>;
  /** Loads what the probe needs (large SDKs) once, outside its deadline, so the first cycle is not `unknown`. */
  prepare?(): Promise<void>;
  close?(): Promise<void>;
}

/**
 * Runs a probe against its deadline. A probe slower than its timeout reports
 * `unknown` at the deadline, whatever it is still waiting for, so one slow
 * dependency never delays the cycle; an exception becomes `unknown` with the reason.
 */
export async function runProbe(
  probe: Probe,
  shared: Omit<ProbeRunContext, 'signal'>,
  outer?: AbortSignal,
): Promise<Signal> {
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Signal>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('deadline'));
      resolve({ status: 'unknown', detail: `probe timed out after ${formatSeconds(probe.timeout_s)}` });
    }, probe.timeout_s * 1000);
  });
  const work = probe.run({ ...shared, signal: controller.signal }).then(
    (signal) => signal,
    (error: unknown): Signal => ({ status: 'unknown', detail: `probe failed: ${describeError(error)}` }),
  );
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
    // Whatever the probe still waits for is abandoned, not awaited.
    if (!controller.signal.aborted) controller.abort(new Error('done'));
  }
}

const CODE_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'name not found',
  EAI_AGAIN: 'name lookup failed (temporary)',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'response body stalled',
  HPE_INVALID_CONSTANT: 'answer is not HTTP',
  HPE_INVALID_VERSION: 'answer is not HTTP',
  HPE_INVALID_STATUS: 'answer is not HTTP',
  HPE_INVALID_HEADER_TOKEN: 'answer is not valid HTTP',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate (set insecure: true to accept it)',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in chain',
  CERT_HAS_EXPIRED: 'certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not match the host name',
};

/** A Node or undici error code; a DOMException's (an abort's TimeoutError) is a number and names nothing here. */
function stringCode(code: unknown): string | undefined {
  return typeof code === 'string' ? code : undefined;
}

/** One line saying what went wrong with a network call, with the address when known. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return describeError(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const err = error as NodeJS.ErrnoException & { address?: string; port?: number; cause?: unknown };
  const code = stringCode(err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code);
  if (code && CODE_TEXT[code]) {
    const cause = (err.cause as { address?: string; port?: number } | undefined) ?? {};
    const address = err.address ?? cause.address;
    const port = err.port ?? cause.port;
    return address ? `${CODE_TEXT[code]} by ${address}${port ? ':' + port : ''}` : CODE_TEXT[code];
  }
  if (code?.startsWith('HPE_') || err.name === 'HTTPParserError')
    return `answer is not valid HTTP (${err.message.split('\n')[0]})`;
  if (err.name === 'AbortError' || code === 'ABORT_ERR') return 'aborted';
  if (err.name === 'TimeoutError') return 'no answer in time';
  if (err.cause instanceof Error && err.message === 'fetch failed') return describeError(err.cause);
  return err.message.split('\n')[0] || err.name;
}

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ABORT_ERR',
]);

/** What went wrong in a few words and without the address (`timeout`, `connection refused`), for structured facts. */
export function failureKind(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return failureKind(error.errors[0]);
  const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = stringCode(err?.code ?? err?.cause?.code);
  if (code && TIMEOUT_CODES.has(code)) return 'timeout';
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout';
  if (code && CODE_TEXT[code]) return CODE_TEXT[code];
  if (code?.startsWith('HPE_')) return 'answer is not HTTP';
  return describeError(error);
}

export function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Settles as `pending` does, or rejects with the signal's reason as soon as it aborts. undici
 * leaves a request that is still connecting to its own connect timeout (10 s) whatever its
 * signal says, so an endpoint that black-holes packets (a region cut off: no SYN-ACK, no ARP
 * answer) would hold a check past the probe's deadline, and the vantage point would report
 * nothing instead of "down". What `pending` brings later is handed to `late` to release.
 */
export function untilAborted<T>(
  pending: Promise<T>,
  signal: AbortSignal,
  late?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(signal.reason as Error);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) late?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(error as Error);
      },
    );
  });
}
