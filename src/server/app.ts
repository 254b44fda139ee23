import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { DestinationStream } from 'pino';
import { redactDeep } from '../log/index.js';
import { registerOperateRoutes, registerReadRoutes, registerStatusRoutes } from './api.js';
import { SIGNATURE_HEADER, type Caller, type Role } from './auth.js';
import { registerGuard } from './guard.js';
import { collectRoutes, openApiDocument, useZodSchemas } from './openapi.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerOptions } from './options.js';
import type { ServerDeps } from './ports.js';
import { registerWebhook } from './webhook-route.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
    rawBody?: string;
  }
  interface FastifyContextConfig {
    /** The role a route needs (`webhook`: a webhook or operate token, or an HMAC signature). Absent: public. */
    role?: Role;
  }
}

export interface BuildOptions {
  options: ServerOptions;
  deps: ServerDeps;
  metrics: ServerMetrics;
  /** `false` silences the log; a stream receives pino's JSON lines; a logger instance is used as is. */
  logger?: false | { level?: string; stream?: DestinationStream } | FastifyBaseLogger;
}

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');

/** Headers and bodies that carry secrets never reach the log. */
const REDACT = ['req.headers.authorization', `req.headers["${SIGNATURE_HEADER}"]`, 'req.headers.cookie'];

const QUIET_UNLESS = new Set(['debug', 'trace']);

/** The API's version in its OpenAPI document: raised when a route or a shape changes incompatibly. */
export const API_VERSION = '1';

function isInstance(logger: BuildOptions['logger']): logger is FastifyBaseLogger {
  return Boolean(logger && 'child' in logger && typeof logger.child === 'function');
}

function loggerOption(logger: BuildOptions['logger']): Record<string, unknown> {
  if (logger === false || logger === undefined) return { logger: false };
  if (isInstance(logger)) {
    // The dashboard polls every few seconds: request lines only when debugging.
    const level = QUIET_UNLESS.has(logger.level) ? logger.level : 'warn';
    return {
      loggerInstance: logger.child({ component: 'http' }, {
        level,
        redact: { paths: REDACT, censor: '[redacted]' },
      } as Record<string, unknown>),
    };
  }
  const plain = logger as { level?: string; stream?: DestinationStream };
  return {
    logger: {
      level: plain.level ?? 'info',
      stream: plain.stream,
      redact: { paths: REDACT, censor: '[redacted]' },
    },
  };
}

async function registerDashboard(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', index: 'index.html' });
  const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  await app.register(fastifyStatic, {
    root: uplotDir,
    prefix: '/vendor/uplot/',
    decorateReply: false,
    allowedPath: (path) => path === '/uPlot.iife.min.js' || path === '/uPlot.min.css',
  });
}

/** Builds the fastify app: API, webhook, metrics and dashboard. Listening is the caller's job. */
export async function buildApp(build: BuildOptions): Promise<FastifyInstance> {
  const { options, deps, metrics } = build;
  const now = deps.now ?? (() => Date.now() / 1000);
  const app = Fastify({
    ...loggerOption(build.logger),
    bodyLimit: 1 << 20,
    // A hop count trusts the nearest n proxies (as proxy-addr does for numbers).
    trustProxy:
      typeof options.trust_proxy === 'number'
        ? (_address: string, hop: number) => hop < (options.trust_proxy as number)
        : options.trust_proxy,
  }) as unknown as FastifyInstance;
  // Approvals, aborts and alert-started cycles are an audit trail: logged at info whatever the request log level.
  const audit = isInstance(build.logger) ? build.logger.child({ component: 'http' }) : app.log;

  app.decorateRequest('caller', null as unknown as Caller);
  app.setErrorHandler((error: Error & { statusCode?: number; expose?: boolean }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500 && !error.expose) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ error: 'internal error; see the controller log' });
    }
    return reply.code(status).send({ error: error.message });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  // No answer carries a credential, whatever a probe or a step put in its text (a connection string).
  app.addHook('preSerialization', async (_request, _reply, payload) => redactDeep(payload));
  const guard = await registerGuard(app, options);
  // Every route's schema validates its input (with zod) and is the OpenAPI document's source.
  useZodSchemas(app);
  const routes = collectRoutes(app);
  const parts = { options, deps, metrics, guard, audit, now };
  registerStatusRoutes(app, parts);
  registerReadRoutes(app, parts);
  registerOperateRoutes(app, parts);
  await registerWebhook(app, parts);
  const openapi = {
    summary: 'this document: the HTTP API as OpenAPI 3.1, generated from the route schemas',
    response: { 200: { description: 'the OpenAPI document' } },
  };
  app.get('/api/openapi.json', { config: { role: 'read' }, schema: openapi }, async () =>
    openApiDocument(routes, API_VERSION),
  );
  if (options.dashboard) await registerDashboard(app);
  return app;
}
