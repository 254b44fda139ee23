import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type Role = 'read' | 'operate';

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

const ROLE_RANK: Record<Caller['role'], number> = { none: 0, read: 1, operate: 2 };

export function allows(caller: Caller, needed: Role): boolean {
  return ROLE_RANK[caller.role] >= ROLE_RANK[needed];
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

export function signBody(secret: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** Checks `sha256=<hex>` over the raw body in constant time. Returns why it fails, or undefined when it holds. */
export function checkSignature(
  secret: string,
  body: string | Buffer,
  header: string | undefined,
): string | undefined {
  if (!header) return `missing ${SIGNATURE_HEADER} header; send sha256=<hex HMAC-SHA256 of the raw body>`;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return `${SIGNATURE_HEADER} must be sha256=<64 hex digits>`;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(match[1], 'hex');
  return timingSafeEqual(expected, given) ? undefined : `${SIGNATURE_HEADER} does not match the body`;
}
