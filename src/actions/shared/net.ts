import { connect } from 'node:net';
import type { PreflightCheck } from '../types.js';

/** Whether a TCP endpoint accepts connections within the time limit. */
export function tcpReachable(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean, detail: string) => {
      socket.destroy();
      resolve({ ok, detail });
    };
    socket.setTimeout(timeoutMs, () => done(false, `${host}:${port} did not answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(true, `${host}:${port} accepts connections`));
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(false, `${host}:${port} unreachable (${e.code ?? e.message})`),
    );
  });
}

/** Pre-flight check that a URL's host accepts TCP connections. */
export async function endpointCheck(name: string, url: string, timeoutMs: number): Promise<PreflightCheck> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { check: `${name} reachable`, ok: false, detail: `"${url}" is not a URL` };
  }
  const port = parsed.port
    ? Number(parsed.port)
    : parsed.protocol === 'https:'
      ? 443
      : parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:'
        ? 5432
        : 80;
  const result = await tcpReachable(parsed.hostname.replace(/^\[|\]$/g, ''), port, timeoutMs);
  return { check: `${name} reachable`, ok: result.ok, detail: result.detail };
}

export function envCheck(names: Array<[label: string, value: string | undefined]>): PreflightCheck[] {
  return names.map(([label, value]) => ({
    check: `${label} present`,
    ok: Boolean(value),
    detail: value
      ? 'set'
      : `${label} is empty; set it (as \${VAR} from the environment) in the step's params`,
  }));
}

/** Replaces `{{run_id}}`-style placeholders with run facts; unknown names stay as written. */
export function fillTemplate(text: string, values: Record<string, string | number | undefined>): string {
  return text.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (match, key: string) => {
    const value = values[key];
    return value === undefined ? match : String(value);
  });
}

/** Sleeps, waking early (with a rejection) when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted)
      return reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
