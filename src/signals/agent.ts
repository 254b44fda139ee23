import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Signal } from '../core/index.js';
import type { ProbeSet } from './source.js';
import type { AgentReport } from './uptime.js';

export interface AgentServerOptions {
  /** Reported as `agent` in every answer (the vantage point's name). */
  name: string;
  source: ProbeSet;
  token: string;
  host?: string;
  port?: number;
  /** Called for every request that was answered, for logging. */
  onRequest?: (entry: { method: string; path: string; status: number }) => void;
}

export interface AgentServer {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

const SIGNAL_NAME = /^[a-z][a-z0-9_]*$/;

const pathOf = (request: FastifyRequest): string => request.url.split('?')[0];

/** Every answer is JSON that no proxy may cache: a vantage point's view is only good now. */
function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('application/json').send(body);
}

/** The bearer token, checked in constant time on every path but /healthz, before anything else. */
function requireToken(app: FastifyInstance, token: string): void {
  const expected = digest(token);
  app.addHook('onRequest', async (request, reply) => {
    if (pathOf(request) === '/healthz') return;
    const header = request.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!given || !timingSafeEqual(digest(given), expected))
      return send(reply, 401, { error: 'missing or wrong bearer token' });
  });
}

function routes(app: FastifyInstance, options: AgentServerOptions): void {
  const inFlight = new Map<string, Promise<Signal | undefined>>();
  const measure = (name: string): Promise<Signal | undefined> => {
    // Controllers asking at the same moment share one measurement.
    let pending = inFlight.get(name);
    if (!pending) {
      pending = options.source.collectOne(name).finally(() => inFlight.delete(name));
      inFlight.set(name, pending);
    }
    return pending;
  };
  app.get('/healthz', (_request, reply) => send(reply, 200, { ok: true, agent: options.name }));
  app.get('/v1/signals', async (_request, reply) => {
    const signals = await options.source.collect(Date.now() / 1000);
    return send(reply, 200, { agent: options.name, at: Date.now() / 1000, signals });
  });
  app.get<{ Params: { name: string } }>('/v1/signals/:name', async (request, reply) => {
    const name = request.params.name;
    if (!SIGNAL_NAME.test(name))
      return send(reply, 404, { error: `no such path ${pathOf(request)}; try /v1/signals/NAME` });
    const signal = await measure(name);
    if (!signal)
      return send(reply, 404, {
        error: `this agent has no probe named ${name}; it has: ${options.source.names.join(', ') || '(none)'}`,
      });
    const report: AgentReport = { agent: options.name, at: Date.now() / 1000, signal };
    return send(reply, 200, report);
  });
  app.setNotFoundHandler((request, reply) =>
    request.method !== 'GET'
      ? send(reply, 405, { error: 'only GET is served' })
      : send(reply, 404, { error: `no such path ${pathOf(request)}; try /v1/signals/NAME` }),
  );
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) =>
    send(reply, error.statusCode && error.statusCode < 500 ? error.statusCode : 500, {
      error: error.message,
    }),
  );
}

/**
 * A remote vantage point (`phoenix agent`): runs the probes of its own
 * configuration when the controller asks, and answers with the signal.
 * Only the probes it is configured with can run, so a token never turns the
 * agent into a general-purpose fetcher. GET only, bearer token on all but /healthz.
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const app = Fastify({
    logger: false,
    // HEAD is not served (405), as before; fastify would otherwise add it beside every GET.
    exposeHeadRoutes: false,
    // Controllers keep connections open between cycles; close() must not wait for them.
    forceCloseConnections: true,
    keepAliveTimeout: 65_000,
  });
  requireToken(app, options.token);
  routes(app, options);
  app.addHook('onResponse', async (request, reply) => {
    options.onRequest?.({ method: request.method, path: pathOf(request), status: reply.statusCode });
  });
  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    host: address.address,
    port: address.port,
    close: () => app.close(),
  };
}
