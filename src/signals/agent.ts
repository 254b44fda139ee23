import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
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

/**
 * A remote vantage point (`phoenix agent`): runs the probes of its own
 * configuration when the controller asks, and answers with the signal.
 * Only the probes it is configured with can run, so a token never turns the
 * agent into a general-purpose fetcher.
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const expected = digest(options.token);
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

  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
    options.onRequest?.({ method: req.method ?? '', path: (req.url ?? '').split('?')[0], status });
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') return send(req, res, 200, { ok: true, agent: options.name });
      const header = req.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!given || !timingSafeEqual(digest(given), expected))
        return send(req, res, 401, { error: 'missing or wrong bearer token' });
      if (req.method !== 'GET') return send(req, res, 405, { error: 'only GET is served' });
      if (path === '/v1/signals') {
        const signals = await options.source.collect(Date.now() / 1000);
        return send(req, res, 200, { agent: options.name, at: Date.now() / 1000, signals });
      }
      const match = /^\/v1\/signals\/([a-z][a-z0-9_]*)$/.exec(path);
      if (!match) return send(req, res, 404, { error: `no such path ${path}; try /v1/signals/NAME` });
      const signal = await measure(match[1]);
      if (!signal)
        return send(req, res, 404, {
          error: `this agent has no probe named ${match[1]}; it has: ${options.source.names.join(', ') || '(none)'}`,
        });
      const report: AgentReport = { agent: options.name, at: Date.now() / 1000, signal };
      return send(req, res, 200, report);
    })().catch((error: unknown) => {
      if (!res.headersSent) send(req, res, 500, { error: String((error as Error)?.message ?? error) });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    host: address.address,
    port: address.port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
