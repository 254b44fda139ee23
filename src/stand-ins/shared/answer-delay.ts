import type { ServerResponse } from 'node:http';

/**
 * Holds a response for `ms` after its handler wrote it. Stand-ins call it on writes before the handler
 * runs: the change is applied at once and the answer leaves `ms` later, so for that long the service
 * holds a change its client has not heard of, the instant at which a client killed cannot have
 * journaled what it did (a real service's answer can be as late: network, a slow control plane).
 * `ms` 0, every stand-in's default, answers at once. An answer whose client has gone is dropped.
 */
export function answerAfter(res: ServerResponse, ms: number): void {
  if (!(ms > 0)) return;
  const writeHead = res.writeHead;
  const end = res.end;
  let head: unknown[] | undefined;
  // Headers are held too: a status line sent early would tell the client the outcome.
  res.writeHead = ((...args: unknown[]) => {
    head = args;
    return res;
  }) as typeof res.writeHead;
  res.end = ((...args: unknown[]) => {
    setTimeout(() => {
      res.writeHead = writeHead;
      res.end = end;
      if (res.destroyed) return;
      if (head) (writeHead as (...a: unknown[]) => ServerResponse).apply(res, head);
      (end as (...a: unknown[]) => ServerResponse).apply(res, args);
    }, ms).unref();
    return res;
  }) as typeof res.end;
}
