import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { SeenSignatures } from './ports.js';

/**
 * `read` sees everything; `operate` may also act; `webhook` may only post alerts to the webhook, so the
 * credential an alert sender (Alertmanager) holds is worth nothing else to whoever reads its configuration.
 */
export type Role = 'read' | 'operate' | 'webhook';

export interface TokenEntry {
  name: string;
  token: string;
  role: Role;
}

export interface Caller {
  /** The token's name, or `anonymous`. */
  name: string;
  role: Role | 'none';
}

/** What each role may do: `webhook` routes are open to operate and webhook tokens; a webhook token opens nothing else. */
const GRANTS: Record<Caller['role'], ReadonlySet<Role>> = {
  none: new Set(),
  webhook: new Set(['webhook']),
  read: new Set(['read']),
  operate: new Set(['read', 'operate', 'webhook']),
};

export function allows(caller: Caller, needed: Role): boolean {
  return GRANTS[caller.role].has(needed);
}

/** Hashing first makes every comparison the same length, so timing reveals neither content nor length. */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Resolves the Authorization header to a caller. Every configured token is
 * compared (no early exit), so the time taken does not say which one matched.
 */
export function identify(
  header: string | undefined,
  tokens: TokenEntry[],
  anonymous: Caller['role'],
): Caller | { error: string } {
  if (!header) return { name: 'anonymous', role: anonymous };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return { error: 'the Authorization header must be "Bearer <token>"' };
  let found: TokenEntry | undefined;
  for (const entry of tokens) {
    if (sameSecret(match[1], entry.token) && !found) found = entry;
  }
  if (!found) return { error: 'the bearer token is not one of server.tokens' };
  return { name: found.name, role: found.role };
}

export const SIGNATURE_HEADER = 'x-phoenix-signature';
export const TIMESTAMP_HEADER = 'x-phoenix-timestamp';
/** How old a signed request's timestamp may be on the controller's clock. */
export const REPLAY_WINDOW_S = 300;
/**
 * How far ahead of the controller's clock a timestamp may be: clock skew only. A request signed
 * minutes ahead would outlive the memory of a restart that happened before its time.
 */
export const FUTURE_SKEW_S = 5;

/**
 * The HMAC covers `<timestamp>.<raw body>`, so a captured request cannot be sent again once its
 * timestamp leaves the window (the same scheme as Slack's and Stripe's signed requests).
 */
export function signBody(secret: string, body: string | Buffer, timestamp: number): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The two headers a signing sender adds (what the README documents), for tests and client code. */
export function signedHeaders(
  secret: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signBody(secret, body, timestamp) };
}

export interface SignedRequest {
  body: string | Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
}

/**
 * Checks `sha256=<hex>` over `<timestamp>.<raw body>` in constant time and the timestamp against
 * the replay window. Returns why it fails, or undefined when it holds.
 */
export function checkSignature(secret: string, request: SignedRequest, now: number): string | undefined {
  const { signature, timestamp } = request;
  const format = `send ${SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>"> and ${TIMESTAMP_HEADER}: <Unix seconds>`;
  if (!signature) return `missing ${SIGNATURE_HEADER} header; ${format}`;
  if (!timestamp) return `missing ${TIMESTAMP_HEADER} header; ${format}`;
  if (!/^\d{1,12}$/.test(timestamp.trim())) return `${TIMESTAMP_HEADER} must be Unix seconds (digits only)`;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signature.trim());
  if (!match) return `${SIGNATURE_HEADER} must be sha256=<64 hex digits>`;
  const at = Number(timestamp.trim());
  const expected = Buffer.from(signBody(secret, request.body, at).slice('sha256='.length), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(match[1], 'hex')))
    return `${SIGNATURE_HEADER} does not match the timestamp and body`;
  if (at - now > FUTURE_SKEW_S)
    return `${TIMESTAMP_HEADER} is ${Math.round(at - now)} s ahead of the controller's clock (allowed: ${FUTURE_SKEW_S} s); sign with the current time and check the sender's clock`;
  if (now - at > REPLAY_WINDOW_S)
    return `${TIMESTAMP_HEADER} is ${Math.round(now - at)} s from the controller's clock (allowed: ${REPLAY_WINDOW_S} s); sign with the current time`;
  return undefined;
}

/**
 * How long an accepted signature is remembered: far past the window's both ends. Each controller
 * forgets by its own clock, and a twin sharing the store whose clock lags still accepts a timestamp
 * the other has left behind; with only the window (306 s) kept, a 10 s skew between two
 * controllers let a replay through. Rows are one per accepted request, so an hour costs nothing.
 */
export const SIGNATURE_MEMORY_S = 3600;

/**
 * Remembers the signatures accepted within the replay window, so one signed request is accepted
 * once. With a durable memory (the store) that holds across restarts and between controllers
 * sharing the store. Without one the memory starts with the process, so a request signed before
 * it started is refused: it may have been accepted by the previous process, and a genuine sender
 * signs each request anew.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly startedAt: number,
    private readonly durable?: SeenSignatures,
  ) {}

  /** Why a signed request must be refused as a possible replay, or undefined the first time it is offered. */
  async refusal(signature: string, signedAt: number, now: number): Promise<string | undefined> {
    const key = signature.trim().toLowerCase();
    const again = 'this signed request was accepted before; sign each request anew';
    const keep_s = SIGNATURE_MEMORY_S;
    if (this.durable) return (await this.durable.remember(key, now, keep_s)) ? undefined : again;
    if (signedAt < Math.floor(this.startedAt))
      return `this request was signed ${Math.round(now - signedAt)} s ago, before this controller started, and may have been accepted already; sign each request anew with the current time`;
    for (const [seen, at] of this.seen) if (now - at > keep_s) this.seen.delete(seen);
    if (this.seen.has(key)) return again;
    this.seen.set(key, now);
    return undefined;
  }
}
