import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Guard } from './guard.js';
import { httpError, need } from './http-error.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerOptions } from './options.js';
import type { RunActionResult, ServerDeps } from './ports.js';
import { drReadiness } from './readiness.js';
import { describePayloadError } from './webhook.js';
import { parseDuration, type SiteRole, type Topology } from '../core/index.js';

/** POST /api/pause: how long and why (both required: the reason is shown everywhere). */
const pauseSchema = z.object({ for: z.string().min(1), reason: z.string().min(1).max(500) }).strict();

/** What every route registrar gets from buildApp. */
export interface RouteParts {
  options: ServerOptions;
  deps: ServerDeps;
  metrics: ServerMetrics;
  guard: Guard;
  audit: FastifyBaseLogger;
  now: () => number;
}

const changeSchema = z
  .object({
    at: z.number().nonnegative().optional(),
    kind: z.enum(['deploy', 'config', 'migration', 'scaling', 'infra']),
    service: z.string().min(1).max(200).optional(),
    description: z.string().min(1).max(2000),
  })
  .strict();

const historyQuery = z.object({
  since: z
    .string()
    .regex(/^(\d+(\.\d+)?|\d+[smhd])$/, 'since must be Unix seconds or a duration back from now (e.g. 1h)')
    .optional(),
  limit: z.coerce.number().int().min(1).max(10000).optional(),
});

const reportQuery = z.object({ format: z.enum(['html', 'json']).optional() });
const limitQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() });

function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw httpError(400, describePayloadError(parsed.error));
  return parsed.data;
}

function siteNames(topology: Topology): Partial<Record<SiteRole, { cloud: string; region: string | null }>> {
  const roles: SiteRole[] = ['primary', 'dr', 'secondary'];
  return Object.fromEntries(
    roles.flatMap((role) => {
      const site = topology[role];
      return site ? [[role, { cloud: site.cloud, region: site.region ?? null }]] : [];
    }),
  );
}

/** Health, readiness, metrics and the status view. */
export function registerStatusRoutes(app: FastifyInstance, parts: RouteParts): void {
  const { options, deps, metrics, now } = parts;
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const reasons: string[] = [];
    if (!deps.status) reasons.push('no status source is attached');
    const latest = deps.status?.latest();
    if (deps.status && !latest) reasons.push('no cycle has finished yet');
    const store = deps.store?.health();
    if (store && !store.writable) reasons.push(store.reason ?? 'the store cannot write');
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
            site: latest.site ?? null,
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
      failback_readiness: deps.failback?.latest() ?? null,
      leader: deps.leader?.() ?? null,
      site: (await deps.site?.current()) ?? null,
      // Each site's cloud and region, for naming them ("Traffic on Azure eastus2"); no other topology fact.
      sites: deps.topology ? siteNames(deps.topology) : null,
    };
  });
}

/** History, decisions and runs: read-only views. */
export function registerReadRoutes(app: FastifyInstance, parts: RouteParts): void {
  const { deps, now } = parts;
  app.get('/api/history', { config: { role: 'read' } }, async (request) => {
    const query = parseQuery(historyQuery, request.query);
    const at = now();
    const since = query.since ?? '1h';
    const relative = /^(\d+)([smhd])$/.exec(since);
    const unit = { s: 1, m: 60, h: 3600, d: 86400 } as const;
    const from = relative ? at - Number(relative[1]) * unit[relative[2] as keyof typeof unit] : Number(since);
    const points = await need(deps.status, 'the history store').history(from, query.limit ?? 5000);
    return { since: from, points };
  });

  app.get('/api/decisions', { config: { role: 'read' } }, async (request) => {
    const query = parseQuery(limitQuery, request.query);
    return { decisions: await need(deps.status, 'the decision log').decisions(query.limit ?? 50) };
  });

  app.get('/api/runs', { config: { role: 'read' } }, async (request) => {
    const query = parseQuery(limitQuery, request.query);
    return { runs: await need(deps.runs, 'the runbook engine').list(query.limit ?? 50) };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id', { config: { role: 'read' } }, async (request) => {
    const run = await need(deps.runs, 'the runbook engine').get(request.params.id);
    if (!run) throw httpError(404, `no run ${request.params.id}; list runs with GET /api/runs`);
    return run;
  });

  app.get<{ Params: { id: string } }>(
    '/api/runs/:id/report',
    { config: { role: 'read' } },
    async (request, reply) => {
      const format = parseQuery(reportQuery, request.query).format ?? 'html';
      const runs = need(deps.runs, 'the runbook engine');
      const report = await need(runs.report?.bind(runs), 'the report builder')(request.params.id);
      if (!report) throw httpError(404, `no run ${request.params.id}; list runs with GET /api/runs`);
      if (format === 'json') return report.model;
      return reply.type('text/html; charset=utf-8').send(report.html);
    },
  );
}

/** Approve, abort, record a change, run a cycle: operate tokens, rate-limited, audited. */
export function registerOperateRoutes(app: FastifyInstance, parts: RouteParts): void {
  const { deps, guard, audit, now } = parts;
  const operate = { config: { role: 'operate' as const, ...guard.limited } };
  const runAction = (result: RunActionResult, reply: FastifyReply) => {
    if (result.ok) return reply.send(result.run);
    return reply.code(result.reason === 'not_found' ? 404 : 409).send({ error: result.message });
  };
  app.post<{ Params: { id: string } }>('/api/runs/:id/approve', operate, async (request, reply) => {
    const runs = need(deps.runs, 'the runbook engine');
    const result = await runs.approve(request.params.id, request.caller.name);
    audit.info({ run: request.params.id, by: request.caller.name, ok: result.ok }, 'run approval requested');
    return runAction(result, reply);
  });
  app.post<{ Params: { id: string } }>('/api/runs/:id/abort', operate, async (request, reply) => {
    const runs = need(deps.runs, 'the runbook engine');
    const result = await runs.abort(request.params.id, request.caller.name);
    audit.info({ run: request.params.id, by: request.caller.name, ok: result.ok }, 'run abort requested');
    return runAction(result, reply);
  });

  app.post('/api/changes', operate, async (request, reply) => {
    const recorder = need(deps.changes, 'the change log');
    const parsed = changeSchema.safeParse(request.body);
    if (!parsed.success) throw httpError(400, describePayloadError(parsed.error));
    const change = { ...parsed.data, at: parsed.data.at ?? now() };
    await recorder.record(change);
    audit.info({ kind: change.kind, service: change.service, by: request.caller.name }, 'change recorded');
    return reply.code(201).send(change);
  });

  app.post('/api/pause', operate, async (request, reply) => {
    const site = need(deps.site?.setPause ? deps.site : undefined, 'the site state');
    const parsed = pauseSchema.safeParse(request.body ?? {});
    if (!parsed.success) throw httpError(400, describePayloadError(parsed.error));
    let seconds: number;
    try {
      seconds = parseDuration(parsed.data.for);
    } catch {
      throw httpError(400, `"for": "${parsed.data.for}" is not a duration; use e.g. 30m or 2h`);
    }
    if (seconds <= 0) throw httpError(400, '"for" must be longer than 0 s');
    const view = await site.setPause!(seconds, request.caller.name, parsed.data.reason);
    audit.info({ by: request.caller.name, for_s: seconds, reason: parsed.data.reason }, 'automation paused');
    return reply.send(view);
  });
  app.post('/api/resume', operate, async (request, reply) => {
    const site = need(deps.site?.setPause ? deps.site : undefined, 'the site state');
    const view = await site.setPause!(null, request.caller.name, 'resumed through the API');
    audit.info({ by: request.caller.name }, 'automation resumed');
    return reply.send(view);
  });

  app.post('/api/cycle', operate, async (request, reply) => {
    const trigger = need(deps.trigger, 'the controller');
    void Promise.resolve(trigger.runCycleNow(`api: requested by ${request.caller.name}`)).catch((error) =>
      request.log.error({ err: error }, 'requested cycle failed'),
    );
    return reply.code(202).send({ triggered: true });
  });
}
