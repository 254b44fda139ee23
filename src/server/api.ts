import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifySchema } from 'fastify';
import { z } from 'zod';
import type { Guard } from './guard.js';
import { httpError, need } from './http-error.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerOptions } from './options.js';
import type { RunActionResult, ServerDeps } from './ports.js';
import { drReadiness } from './readiness.js';
import { errorResponse, fromZod, jsonResponse } from './openapi.js';
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

const reportQuery = z.object({
  format: z.enum(['html', 'json']).optional().describe('html (default): a page; json: the report as data'),
});
const limitQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional().describe('how many, newest first (default 50)'),
});
const runParams = z.object({ id: z.string().min(1).describe("the run's id (GET /api/runs)") });

const refused = {
  400: errorResponse('the input is not valid: each problem with its field'),
  503: errorResponse('this process runs without the part the route needs'),
};
const runRefused = { ...refused, 404: errorResponse('no such run') };

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
  app.get(
    '/healthz',
    { schema: { summary: 'liveness', response: { 200: jsonResponse('the process answers') } } },
    async () => ({ status: 'ok' }),
  );

  const readiness = jsonResponse('ready: whether cycles are current; reasons when not');
  const readySchema = {
    summary: 'readiness: a cycle finished recently and the store can write',
    response: { 200: readiness, 503: { ...readiness, description: 'not ready; `reasons` say why' } },
  };
  app.get('/readyz', { schema: readySchema }, async (_request, reply) => {
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

  const metricsSchema = {
    summary: 'Prometheus metrics (text exposition format)',
    response: {
      200: { description: 'the metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
    },
  };
  app.get('/metrics', { config: { role: 'read' }, schema: metricsSchema }, async (_request, reply) => {
    reply.header('Content-Type', metrics.contentType());
    return metrics.render();
  });

  const whoami = {
    summary: "the caller's token name and role",
    response: { 200: jsonResponse('name, role') },
  };
  app.get('/api/whoami', { config: { role: 'read' }, schema: whoami }, async (request) => request.caller);

  const statusSchema = {
    summary: 'the latest cycle, DR and runbook readiness, the leader and the serving site',
    response: { 200: jsonResponse('the status view the dashboard shows'), 503: refused[503] },
  };
  app.get('/api/status', { config: { role: 'read' }, schema: statusSchema }, async () => {
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
  const historySchema = {
    summary: 'the score and every signal over time, oldest first',
    querystring: fromZod(historyQuery),
    response: { 200: jsonResponse('since (Unix seconds) and points'), ...refused },
  };
  app.get('/api/history', { config: { role: 'read' }, schema: historySchema }, async (request) => {
    const query = request.query as z.output<typeof historyQuery>;
    const at = now();
    const since = query.since ?? '1h';
    const relative = /^(\d+)([smhd])$/.exec(since);
    const unit = { s: 1, m: 60, h: 3600, d: 86400 } as const;
    const from = relative ? at - Number(relative[1]) * unit[relative[2] as keyof typeof unit] : Number(since);
    const points = await need(deps.status, 'the history store').history(from, query.limit ?? 5000);
    return { since: from, points };
  });

  const limited = (summary: string, answer: string) => ({
    summary,
    querystring: fromZod(limitQuery),
    response: { 200: jsonResponse(answer), ...refused },
  });
  const decisionsSchema = limited('the latest decisions, newest first', 'decisions');
  app.get('/api/decisions', { config: { role: 'read' }, schema: decisionsSchema }, async (request) => {
    const query = request.query as z.output<typeof limitQuery>;
    return { decisions: await need(deps.status, 'the decision log').decisions(query.limit ?? 50) };
  });

  const runsSchema = limited('runbook runs, newest first', 'runs');
  app.get('/api/runs', { config: { role: 'read' }, schema: runsSchema }, async (request) => {
    const query = request.query as z.output<typeof limitQuery>;
    return { runs: await need(deps.runs, 'the runbook engine').list(query.limit ?? 50) };
  });

  const runSchema = {
    summary: 'one run with its stages',
    params: fromZod(runParams),
    response: { 200: jsonResponse('the run'), ...runRefused },
  };
  const readRun = { config: { role: 'read' as const }, schema: runSchema };
  app.get<{ Params: { id: string } }>('/api/runs/:id', readRun, async (request) => {
    const run = await need(deps.runs, 'the runbook engine').get(request.params.id);
    if (!run) throw httpError(404, `no run ${request.params.id}; list runs with GET /api/runs`);
    return run;
  });

  const reportSchema = {
    summary: "the run's evidence report",
    params: fromZod(runParams),
    querystring: fromZod(reportQuery),
    response: {
      200: {
        description: 'a self-contained HTML page, or the report as JSON (format=json)',
        content: {
          'text/html': { schema: { type: 'string' } },
          'application/json': { schema: { type: 'object' } },
        },
      },
      ...runRefused,
    },
  };
  app.get<{ Params: { id: string } }>(
    '/api/runs/:id/report',
    { config: { role: 'read' }, schema: reportSchema },
    async (request, reply) => {
      const format = (request.query as z.output<typeof reportQuery>).format ?? 'html';
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
  const limits = { role: 'operate' as const, ...guard.limited };
  const operateWith = (
    schema: Record<string, unknown>,
  ): { config: typeof limits; schema: FastifySchema } => ({
    config: limits,
    schema: {
      ...schema,
      response: {
        429: errorResponse('too many requests (server.rate_limit)'),
        ...(schema.response as object),
      },
    },
  });
  const runAct = (summary: string) =>
    operateWith({
      summary,
      params: fromZod(runParams),
      response: {
        200: jsonResponse('the run'),
        409: errorResponse('the run is not in a state that allows it'),
        ...runRefused,
      },
    });
  const runAction = (result: RunActionResult, reply: FastifyReply) => {
    if (result.ok) return reply.send(result.run);
    return reply.code(result.reason === 'not_found' ? 404 : 409).send({ error: result.message });
  };
  const approve = runAct('approve the stage the run waits on');
  app.post<{ Params: { id: string } }>('/api/runs/:id/approve', approve, async (request, reply) => {
    const runs = need(deps.runs, 'the runbook engine');
    const result = await runs.approve(request.params.id, request.caller.name);
    audit.info({ run: request.params.id, by: request.caller.name, ok: result.ok }, 'run approval requested');
    return runAction(result, reply);
  });
  const abort = runAct('abort the run (between steps)');
  app.post<{ Params: { id: string } }>('/api/runs/:id/abort', abort, async (request, reply) => {
    const runs = need(deps.runs, 'the runbook engine');
    const result = await runs.abort(request.params.id, request.caller.name);
    audit.info({ run: request.params.id, by: request.caller.name, ok: result.ok }, 'run abort requested');
    return runAction(result, reply);
  });

  const changes = operateWith({
    summary: 'record a change (deploy, config, migration, ...) for the analysis',
    body: fromZod(changeSchema),
    response: { 201: jsonResponse('the change as recorded'), ...refused },
  });
  app.post('/api/changes', changes, async (request, reply) => {
    const recorder = need(deps.changes, 'the change log');
    const body = request.body as z.output<typeof changeSchema>;
    const change = { ...body, at: body.at ?? now() };
    await recorder.record(change);
    audit.info({ kind: change.kind, service: change.service, by: request.caller.name }, 'change recorded');
    return reply.code(201).send(change);
  });

  const pause = operateWith({
    summary: 'pause automation for a while, with the reason shown everywhere',
    body: fromZod(pauseSchema),
    response: { 200: jsonResponse('the site state'), ...refused },
  });
  app.post('/api/pause', pause, async (request, reply) => {
    const site = need(deps.site?.setPause ? deps.site : undefined, 'the site state');
    const parsed = { data: request.body as z.output<typeof pauseSchema> };
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
  const resume = operateWith({
    summary: 'resume automation now',
    response: { 200: jsonResponse('the site state'), 503: refused[503] },
  });
  app.post('/api/resume', resume, async (request, reply) => {
    const site = need(deps.site?.setPause ? deps.site : undefined, 'the site state');
    const view = await site.setPause!(null, request.caller.name, 'resumed through the API');
    audit.info({ by: request.caller.name }, 'automation resumed');
    return reply.send(view);
  });

  const cycle = operateWith({
    summary: 'run a cycle now (it joins one already queued)',
    response: { 202: jsonResponse('triggered'), 503: refused[503] },
  });
  app.post('/api/cycle', cycle, async (request, reply) => {
    const trigger = need(deps.trigger, 'the controller');
    void Promise.resolve(trigger.runCycleNow(`api: requested by ${request.caller.name}`)).catch((error) =>
      request.log.error({ err: error }, 'requested cycle failed'),
    );
    return reply.code(202).send({ triggered: true });
  });
}
