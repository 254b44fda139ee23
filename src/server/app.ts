import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { z } from 'zod';
import type { DestinationStream } from 'pino';
import { allows, checkSignature, identify, SIGNATURE_HEADER, type Caller, type Role } from './auth.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerOptions } from './options.js';
import type { RunActionResult, ServerDeps } from './ports.js';
import { drReadiness } from './readiness.js';
import { AlertCoalescer, alertmanagerPayloadSchema, describePayloadError } from './webhook.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
    rawBody?: string;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; `webhook` means an HMAC signature or operate. Absent: public. */
    role?: Role | 'webhook';
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

const changeSchema = z
  .object({
    at: z.number().nonnegative().optional(),
    kind: z.enum(['deploy', 'config', 'migration', 'scaling', 'infra']),
    service: z.string().min(1).max(200).optional(),
    description: z.string().min(1).max(2000),
  })
  .strict();

/** An error whose message is meant for the client, whatever its status. */
function httpError(statusCode: number, message: string): Error & { statusCode: number; expose: true } {
  return Object.assign(new Error(message), { statusCode, expose: true as const });
}

const QUIET_UNLESS = new Set(['debug', 'trace']);

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

/** Builds the fastify app: API, webhook, metrics and dashboard. Listening is the caller's job. */
export async function buildApp(build: BuildOptions): Promise<FastifyInstance> {
  const { options, deps, metrics } = build;
  const now = deps.now ?? (() => Date.now() / 1000);
  const app = Fastify({
    ...loggerOption(build.logger),
    bodyLimit: 1 << 20,
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

  await app.register(cors, {
    // Closed unless origins are listed: a browser on any other page cannot call the API.
    origin: options.cors_origins.length ? options.cors_origins : false,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Phoenix-Signature'],
  });
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) =>
      request.caller.role === 'none' ? `ip:${request.ip}` : `token:${request.caller.name}`,
  });
  const limited = {
    rateLimit: { max: options.rate_limit.max, timeWindow: options.rate_limit.window_s * 1000 },
  };

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header(
      'Content-Security-Policy',
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    );
    return payload;
  });

  // Authentication runs before rate limiting so limits are kept per token.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    request.caller = { name: 'anonymous', role: 'none' };
    const needed = request.routeOptions.config?.role;
    if (!needed) return;
    const header = request.headers.authorization;
    if (needed === 'webhook' && options.webhook.secret) return; // checked against the raw body
    const caller = identify(header, options.tokens, options.anonymous);
    if ('error' in caller) {
      reply.header('WWW-Authenticate', 'Bearer');
      return reply.code(401).send({ error: caller.error });
    }
    request.caller = caller;
    const role: Role = needed === 'webhook' ? 'operate' : needed;
    if (!allows(caller, role)) {
      if (caller.role === 'none') {
        reply.header('WWW-Authenticate', 'Bearer');
        return reply.code(401).send({ error: `this endpoint needs a bearer token with the ${role} role` });
      }
      return reply
        .code(403)
        .send({ error: `token "${caller.name}" has the ${caller.role} role; this needs ${role}` });
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const reasons: string[] = [];
    if (!deps.status) reasons.push('no status source is attached');
    const latest = deps.status?.latest();
    if (deps.status && !latest) reasons.push('no cycle has finished yet');
    if (latest && now() - latest.at > options.stale_after_s)
      reasons.push(
        `the last cycle finished ${Math.round(now() - latest.at)} s ago (stale after ${options.stale_after_s} s)`,
      );
    return reply.code(reasons.length ? 503 : 200).send({ ready: reasons.length === 0, reasons });
  });

  app.get('/metrics', { config: { role: 'read' } }, async (_request, reply) => {
    reply.header('Content-Type', metrics.contentType());
    return metrics.render();
  });

  const need = <T>(part: T | undefined, what: string): T => {
    if (part === undefined) throw httpError(503, `${what} is not available in this process`);
    return part;
  };

  app.get('/api/whoami', { config: { role: 'read' } }, async (request) => request.caller);

  app.get('/api/status', { config: { role: 'read' } }, async () => {
    const status = need(deps.status, 'the status view');
    const latest = status.latest();
    const at = now();
    return {
      now: at,
      interval_s: deps.interval_s,
      stale: latest ? at - latest.at > options.stale_after_s : true,
      latest: latest
        ? {
            at: latest.at,
            reason: latest.reason,
            score: latest.score.score,
            level: latest.score.level,
            contributions: latest.score.contributions,
            notes: latest.score.notes,
            signals: latest.signals,
            decision: latest.decision,
          }
        : null,
      dr_readiness: drReadiness(latest),
      // The runbooks' own pre-flight checks; null when no runbook is configured or none has finished yet.
      runbook_readiness: deps.readiness?.latest() ?? null,
      leader: deps.leader?.() ?? null,
    };
  });

  const historyQuery = z.object({
    since: z
      .string()
      .regex(/^(\d+(\.\d+)?|\d+[smhd])$/, 'since must be Unix seconds or a duration back from now (e.g. 1h)')
      .optional(),
    limit: z.coerce.number().int().min(1).max(10000).optional(),
  });
  app.get('/api/history', { config: { role: 'read' } }, async (request) => {
    const query = historyQuery.safeParse(request.query);
    if (!query.success) throw httpError(400, describePayloadError(query.error));
    const at = now();
    const since = query.data.since ?? '1h';
    const relative = /^(\d+)([smhd])$/.exec(since);
    const unit = { s: 1, m: 60, h: 3600, d: 86400 } as const;
    const from = relative ? at - Number(relative[1]) * unit[relative[2] as keyof typeof unit] : Number(since);
    const points = await need(deps.status, 'the history store').history(from, query.data.limit ?? 5000);
    return { since: from, points };
  });

  const limitQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() });
  app.get('/api/decisions', { config: { role: 'read' } }, async (request) => {
    const query = limitQuery.safeParse(request.query);
    if (!query.success) throw httpError(400, describePayloadError(query.error));
    return { decisions: await need(deps.status, 'the decision log').decisions(query.data.limit ?? 50) };
  });

  app.get('/api/runs', { config: { role: 'read' } }, async (request) => {
    const query = limitQuery.safeParse(request.query);
    if (!query.success) throw httpError(400, describePayloadError(query.error));
    return { runs: await need(deps.runs, 'the runbook engine').list(query.data.limit ?? 50) };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id', { config: { role: 'read' } }, async (request) => {
    const run = await need(deps.runs, 'the runbook engine').get(request.params.id);
    if (!run) throw httpError(404, `no run ${request.params.id}; list runs with GET /api/runs`);
    return run;
  });

  const runAction = (result: RunActionResult, reply: FastifyReply) => {
    if (result.ok) return reply.send(result.run);
    return reply.code(result.reason === 'not_found' ? 404 : 409).send({ error: result.message });
  };
  app.post<{ Params: { id: string } }>(
    '/api/runs/:id/approve',
    { config: { role: 'operate', ...limited } },
    async (request, reply) => {
      const runs = need(deps.runs, 'the runbook engine');
      const result = await runs.approve(request.params.id, request.caller.name);
      audit.info(
        { run: request.params.id, by: request.caller.name, ok: result.ok },
        'run approval requested',
      );
      return runAction(result, reply);
    },
  );
  app.post<{ Params: { id: string } }>(
    '/api/runs/:id/abort',
    { config: { role: 'operate', ...limited } },
    async (request, reply) => {
      const runs = need(deps.runs, 'the runbook engine');
      const result = await runs.abort(request.params.id, request.caller.name);
      audit.info({ run: request.params.id, by: request.caller.name, ok: result.ok }, 'run abort requested');
      return runAction(result, reply);
    },
  );

  app.post('/api/changes', { config: { role: 'operate', ...limited } }, async (request, reply) => {
    const recorder = need(deps.changes, 'the change log');
    const parsed = changeSchema.safeParse(request.body);
    if (!parsed.success) throw httpError(400, describePayloadError(parsed.error));
    const change = { ...parsed.data, at: parsed.data.at ?? now() };
    await recorder.record(change);
    audit.info({ kind: change.kind, service: change.service, by: request.caller.name }, 'change recorded');
    return reply.code(201).send(change);
  });

  app.post('/api/cycle', { config: { role: 'operate', ...limited } }, async (request, reply) => {
    const trigger = need(deps.trigger, 'the controller');
    void Promise.resolve(trigger.runCycleNow(`api: requested by ${request.caller.name}`)).catch((error) =>
      request.log.error({ err: error }, 'requested cycle failed'),
    );
    return reply.code(202).send({ triggered: true });
  });

  const coalescer = new AlertCoalescer(options.webhook.match, options.webhook.dedup_window_s);
  await app.register(async (scope) => {
    // The signature covers the exact bytes sent, so keep them before parsing.
    const parseJson = scope.getDefaultJsonParser('error', 'error');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      request.rawBody = body as string;
      parseJson(request, body as string, (error, value) => {
        if (error) done(httpError(400, `the body is not valid JSON: ${error.message}`), undefined);
        else done(null, value);
      });
    });
    scope.post(
      '/api/webhooks/alertmanager',
      { config: { role: 'webhook', ...limited } },
      async (request, reply) => {
        if (options.webhook.secret) {
          const problem = checkSignature(
            options.webhook.secret,
            request.rawBody ?? '',
            request.headers[SIGNATURE_HEADER] as string | undefined,
          );
          if (problem) return reply.code(401).send({ error: problem });
        }
        const parsed = alertmanagerPayloadSchema.safeParse(request.body);
        if (!parsed.success)
          return reply
            .code(400)
            .send({ error: `not an Alertmanager v4 payload: ${describePayloadError(parsed.error)}` });
        const outcome = coalescer.consider(parsed.data, now());
        metrics.webhookAlerts.inc({ outcome: 'accepted' }, outcome.accepted.length);
        metrics.webhookAlerts.inc({ outcome: 'duplicate' }, outcome.duplicates.length);
        metrics.webhookAlerts.inc({ outcome: 'ignored' }, outcome.ignored);
        if (outcome.triggered && outcome.reason) {
          const trigger = need(deps.trigger, 'the controller');
          audit.info({ reason: outcome.reason, alerts: outcome.accepted.length }, 'webhook starts a cycle');
          void Promise.resolve(trigger.runCycleNow(outcome.reason)).catch((error) =>
            request.log.error({ err: error }, 'cycle started by the webhook failed'),
          );
        }
        return reply.code(202).send(outcome);
      },
    );
  });

  if (options.dashboard) {
    await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', index: 'index.html' });
    const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
    await app.register(fastifyStatic, {
      root: uplotDir,
      prefix: '/vendor/uplot/',
      decorateReply: false,
      allowedPath: (path) => path === '/uPlot.iife.min.js' || path === '/uPlot.min.css',
    });
  }
  return app;
}
