import { EventEmitter, once } from 'node:events';
import { ThresholdAnalyzer, type Analyzer } from '../../src/analysis/index.js';
import { parseConfig, type PhoenixConfig } from '../../src/config/index.js';
import type { IncidentContext, SignalSnapshot } from '../../src/core/index.js';
import { DecisionEngine, type SiteInput } from '../../src/decision/index.js';
import {
  RecentCycles,
  startServer,
  type CycleRecord,
  type CycleTrigger,
  type RunningServer,
} from '../../src/server/index.js';

export const READ_TOKEN = 'read-token-0123456789abcdef';
export const OPERATE_TOKEN = 'operate-token-0123456789abcdef';
export const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';
export const WEBHOOK_TOKEN = 'webhook-token-0123456789abcdef';

export function serverConfig(
  server: Record<string, unknown> = {},
  rest: Record<string, unknown> = {},
): PhoenixConfig {
  return parseConfig(
    {
      interval: '30s',
      ...rest,
      server: {
        listen: '127.0.0.1:0',
        tokens: [
          { name: 'grafana', token: '${PHX_TEST_READ}', role: 'read' },
          { name: 'oncall', token: '${PHX_TEST_OPERATE}', role: 'operate' },
          { name: 'alertmanager', token: '${PHX_TEST_WEBHOOK}', role: 'webhook' },
        ],
        ...server,
      },
    },
    'test.yaml',
    {
      PHX_TEST_READ: READ_TOKEN,
      PHX_TEST_OPERATE: OPERATE_TOKEN,
      PHX_TEST_WEBHOOK: WEBHOOK_TOKEN,
      PHX_TEST_SECRET: WEBHOOK_SECRET,
    },
  );
}

export function snapshot(
  overrides: Partial<Record<string, SignalSnapshot[string]['status']>> = {},
): SignalSnapshot {
  const names = [
    'internal_services',
    'external_uptime',
    'cross_cloud',
    'db_replication_lag',
    'eks_nodes',
    'aws_cross_region',
    'dr_site',
  ];
  return Object.fromEntries(names.map((n) => [n, { status: overrides[n] ?? 'ok', detail: `${n} probe` }]));
}

/**
 * Drives the real decision core the way the controller does: one cycle per
 * call on a clock the test moves, concurrent requests sharing one cycle.
 */
export class DecisionLoop implements CycleTrigger {
  readonly recent = new RecentCycles();
  /** The decision core; a test may swap the analyzer between phases. */
  engine: DecisionEngine;
  readonly reasons: string[] = [];
  /** Emits `cycle` with each finished CycleRecord. */
  readonly events = new EventEmitter();
  clock: number;
  next: SignalSnapshot = snapshot();
  /** The serving site the cycles describe (the controller reads it from the site state); absent: the primary. */
  site: SiteInput | undefined;
  /** The context the next cycles gather (status pages, AWS Health). */
  context: IncidentContext = {};
  private running: Promise<CycleRecord> | undefined;

  constructor(config: PhoenixConfig, start = 1_800_000_000, analyzer: Analyzer = new ThresholdAnalyzer()) {
    this.engine = new DecisionEngine(config, analyzer);
    this.clock = start;
  }

  now = (): number => this.clock;

  runCycleNow(reason: string): Promise<CycleRecord> {
    this.running ??= this.cycle(reason).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Resolves when the cycle in flight (if any) has finished: the event a test waits for. */
  idle(): Promise<unknown> {
    return this.running ?? Promise.resolve();
  }

  /** Resolves with the next finished cycle whose reason matches. */
  async nextCycle(reason: RegExp): Promise<CycleRecord> {
    for (;;) {
      const [record] = (await once(this.events, 'cycle')) as [CycleRecord];
      if (reason.test(record.reason ?? '')) return record;
    }
  }

  /** Starts are recorded before the first await, so a 202 that triggered a cycle has already added its reason. */
  async cycle(reason = 'schedule'): Promise<CycleRecord> {
    this.reasons.push(reason);
    const started = performance.now();
    const result = await this.engine.cycle({
      now: this.clock,
      signals: this.next,
      context: this.context,
      site: this.site,
    });
    const record: CycleRecord = {
      ...(this.site ? { site: this.site.active_site } : {}),
      at: this.clock,
      signals: this.next,
      score: result.score,
      analysis: result.analysis,
      decision: result.decision,
      analysis_ms: result.analysis ? performance.now() - started : undefined,
      reason,
    };
    this.recent.push(record);
    this.events.emit('cycle', record);
    return record;
  }
}

/** A firing Alertmanager v4 webhook body with one alert, as JSON text (what signatures are computed over). */
export function firingAlertBody(alertname: string, fingerprint: string): string {
  return JSON.stringify({
    version: '4',
    groupKey: 'g',
    status: 'firing',
    receiver: 'phoenix',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://am',
    alerts: [
      {
        status: 'firing',
        labels: { alertname },
        annotations: {},
        startsAt: '2027-01-01T00:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prom',
        fingerprint,
      },
    ],
  });
}

/** A server on a free loopback port over a DecisionLoop: its status, its trigger and its clock. */
export function serveLoop(config: PhoenixConfig, loop: DecisionLoop): Promise<RunningServer> {
  return startServer({
    config,
    deps: { status: loop.recent, trigger: loop, now: loop.now },
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
}
