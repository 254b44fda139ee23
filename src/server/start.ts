import type { FastifyInstance } from 'fastify';
import type { PhoenixConfig } from '../config/index.js';
import { buildApp, type BuildOptions } from './app.js';
import { registerFailbackMetrics } from '../runbook/failback-readiness.js';
import { ServerMetrics } from './metrics.js';
import { resolveServerOptions, type ServerOptions } from './options.js';
import type { ServerDeps } from './ports.js';

export interface StartServerOptions {
  config: PhoenixConfig;
  deps: ServerDeps;
  /** Overrides server.listen (tests use 127.0.0.1:0). */
  listen?: { host: string; port: number };
  logger?: BuildOptions['logger'];
  /** Process metrics (CPU, memory, event loop); off in tests that start several servers. */
  processMetrics?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  app: FastifyInstance;
  metrics: ServerMetrics;
  options: ServerOptions;
  close(): Promise<void>;
}

/** Starts the HTTP server of `phoenix run`; the caller closes it on shutdown. */
export async function startServer(start: StartServerOptions): Promise<RunningServer> {
  const interval_s = start.deps.interval_s ?? start.config.interval_s;
  const options = resolveServerOptions(start.config.raw.server, interval_s);
  if (start.listen) Object.assign(options, start.listen);
  const deps = { ...start.deps, interval_s, topology: start.deps.topology ?? start.config.topology };
  const metrics = new ServerMetrics({
    interval_s,
    runs: deps.runs,
    readiness: deps.readiness,
    drills: deps.drills,
    processMetrics: start.processMetrics,
    leader: deps.leader,
    store: deps.store,
    site: deps.site,
  });
  if (deps.failback) registerFailbackMetrics(metrics.registry, deps.failback);
  const stopListening = deps.events?.onCycle((record) => metrics.observeCycle(record));
  const latest = deps.status?.latest();
  if (latest) metrics.showCycle(latest);
  const app = await buildApp({ options, deps, metrics, logger: start.logger });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    stopListening?.();
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new Error(
        `cannot listen on ${options.host}:${options.port}: the port is in use; change server.listen`,
      );
    if (code === 'EADDRNOTAVAIL')
      throw new Error(
        `cannot listen on ${options.host}:${options.port}: no such local address; change server.listen`,
      );
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    app,
    metrics,
    options,
    close: async () => {
      stopListening?.();
      await app.close();
    },
  };
}
