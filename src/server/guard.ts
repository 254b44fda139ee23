import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import { allows, identify, SIGNATURE_HEADER, TIMESTAMP_HEADER, type Caller, type Role } from './auth.js';
import type { ServerOptions } from './options.js';

/** Answers a request that failed authentication, signature or replay checks. */
export type Refuse = (
  request: FastifyRequest,
  reply: FastifyReply,
  status: 401 | 403 | 409,
  message: string,
) => Promise<FastifyReply>;

export interface Guard {
  refuse: Refuse;
  /** Route config for the mutating endpoints: successful requests, per token (or per address when anonymous). */
  limited: { rateLimit: { max: number; timeWindow: number } };
}

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a mutating request without a bearer token must be refused as cross-site, or undefined.
 * A browser names where a request comes from (`Sec-Fetch-Site`, or `Origin` in older ones); a
 * page on another site can post a form to the API without any preflight, and with `anonymous:
 * operate` (the lab) that would approve or abort a run. Clients that are not browsers (the CLI,
 * Alertmanager, curl) send neither header and are not affected; a bearer token is not something
 * another site's page can add without a preflight the CORS policy refuses.
 */
export function crossSiteRefusal(
  request: FastifyRequest,
  allowedOrigins: readonly string[],
): string | undefined {
  if (SAFE_METHODS.has(request.method) || request.headers.authorization) return undefined;
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  const own = `${request.protocol}://${request.host}`;
  const listed = origin !== undefined && (origin === own || allowedOrigins.includes(origin));
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none' || listed) return undefined;
  } else if (origin === undefined || listed) return undefined;
  return `a browser request from another site (${origin ?? `Sec-Fetch-Site: ${site}`}) may not change anything here; use the dashboard at ${own}, send a bearer token, or list the origin in server.cors.origins`;
}

/** `name:port`, `[v6]:port` or a bare name: the name, lowercased, brackets kept off. */
function hostName(host: string): string {
  const v6 = /^\[([^\]]*)\]/.exec(host);
  return (v6 ? v6[1] : host.replace(/:\d*$/, '')).toLowerCase();
}

/** An address literal cannot be rebound; `localhost` resolves locally (RFC 6761), never through a page's DNS. */
function cannotRebind(name: string): boolean {
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Why a request that relies on anonymous access must be refused as DNS rebinding, or undefined. A page
 * whose own name was re-resolved to this server is same-origin for the browser (its Origin and Host are
 * both that name), so the Origin check and CORS let it read and act; the raw Host header (not a
 * forwarded one, which such a page could set) is the only sign. Address literals, `localhost`, the
 * listen host and the hosts of `server.cors.origins` are this server's own names.
 */
export function reboundRefusal(request: FastifyRequest, options: ServerOptions): string | undefined {
  if (options.anonymous === 'none' || request.headers.authorization) return undefined;
  const host = request.headers.host ?? '';
  const name = hostName(host);
  if (cannotRebind(name) || name === options.host.toLowerCase()) return undefined;
  const listed = options.cors_origins.some((origin) => {
    try {
      return new URL(origin).hostname.replace(/^\[|\]$/g, '').toLowerCase() === name;
    } catch {
      return false;
    }
  });
  if (listed) return undefined;
  return `anonymous access is answered only for this server's own names, not "${host}" (a page that re-resolved its name to this server looks like this); use http://127.0.0.1 or http://localhost, send a bearer token, or list the name's origin in server.cors.origins`;
}

const describeRole = (needed: Role) => (needed === 'webhook' ? 'webhook or operate' : needed);

/**
 * CORS, security headers, authentication and rate limits. Requests are limited by outcome: a
 * failed one (bad token, bad signature, replay) counts only in its address's failure bucket,
 * and once that is spent further failures get 429. A valid credential is still checked and
 * served, so whoever shares an address with Alertmanager (an ingress, a NAT) cannot lock it out
 * by failing; tokens and secrets of 16+ random characters cannot be guessed at any rate.
 */
export async function registerGuard(app: FastifyInstance, options: ServerOptions): Promise<Guard> {
  await app.register(cors, {
    // Closed unless origins are listed: a browser on any other page cannot call the API.
    origin: options.cors_origins.length ? options.cors_origins : false,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', SIGNATURE_HEADER, TIMESTAMP_HEADER],
  });
  // preHandler: after authentication and signature checks, so only requests that passed them count.
  await app.register(rateLimit, {
    global: false,
    hook: 'preHandler',
    keyGenerator: (request) =>
      request.caller.role === 'none' ? `ip:${request.ip}` : `token:${request.caller.name}`,
  });
  const windowMs = options.rate_limit.window_s * 1000;
  const failures = app.createRateLimit({
    max: options.rate_limit.failures,
    timeWindow: windowMs,
    keyGenerator: (request) => `failed:${request.ip}`,
  });
  const refuse: Refuse = async (request, reply, status, message) => {
    const state = await failures(request);
    if (!state.isAllowed && state.isExceeded) {
      reply.header('Retry-After', String(state.ttlInSeconds));
      return reply.code(429).send({
        error: `too many failed requests from ${request.ip} (over ${state.max} in ${options.rate_limit.window_s} s); retry in ${state.ttlInSeconds} s with a valid credential`,
      });
    }
    if (status === 401) reply.header('WWW-Authenticate', 'Bearer');
    return reply.code(status).send({ error: message });
  };

  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    return payload;
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    request.caller = { name: 'anonymous', role: 'none' } satisfies Caller;
    const needed = request.routeOptions.config?.role;
    if (!needed) return;
    const crossSite = crossSiteRefusal(request, options.cors_origins);
    if (crossSite) return refuse(request, reply, 403, crossSite);
    const header = request.headers.authorization;
    // A signed webhook without a token is checked once its raw body is read.
    if (needed === 'webhook' && !header && options.webhook.secret) return;
    const rebound = reboundRefusal(request, options);
    if (rebound) return refuse(request, reply, 403, rebound);
    const caller = identify(header, options.tokens, options.anonymous);
    if ('error' in caller) return refuse(request, reply, 401, caller.error);
    request.caller = caller;
    if (allows(caller, needed)) return;
    const role = describeRole(needed);
    if (caller.role === 'none')
      return refuse(request, reply, 401, `this endpoint needs a bearer token with the ${role} role`);
    return refuse(
      request,
      reply,
      403,
      `token "${caller.name}" has the ${caller.role} role; this needs ${role}`,
    );
  });

  return { refuse, limited: { rateLimit: { max: options.rate_limit.max, timeWindow: windowMs } } };
}
