import { tmpdir } from 'node:os';
import { getAdapter } from '../actions/index.js';
import type { RawConfig } from '../config/index.js';
import type { Action, Decision } from '../core/index.js';
import { redactText, silentLogger, type Logger } from '../log/index.js';
import { readinessFailures, type ReadinessReport, type RunEvent } from '../runbook/index.js';

type Severity = 'critical' | 'error' | 'warning' | 'info';
export type NotificationsSection = NonNullable<RawConfig['notifications']>;

/** PagerDuty caps a summary at 1024 characters; chat messages stay readable too. */
const MAX_TEXT = 1000;

/** One message for on-call. `key` groups repeats: PagerDuty's dedup key, and `resolve` closes it. */
export interface Notification {
  /** What it is about: `decision`, `runbook`, `readiness`. */
  kind: string;
  /** The action, run status or readiness state. */
  subject: string;
  /** The runbook or `controller`. */
  source: string;
  key: string;
  severity: Severity;
  text: string;
  resolve?: boolean;
}

export interface Delivery {
  channel: string;
  ok: boolean;
  detail: string;
}

const SEVERITY: Record<Exclude<Action, 'none'>, Severity> = {
  dr_failover: 'critical',
  region_failover: 'critical',
  // The policy held a failover back: a person decides, now.
  escalate: 'critical',
  self_heal: 'warning',
};

const RUN_SEVERITY: Record<string, Severity> = {
  failed: 'critical',
  aborted: 'warning',
  succeeded: 'info',
  cleared: 'info',
};

export interface NotifierOptions {
  settings: NotificationsSection;
  logger?: Logger;
  /** Unix seconds; tests pass their own. */
  clock?: () => number;
}

/**
 * Tells on-call what the controller decided and what its runbooks did, through the
 * `notify` step's wire code (Slack webhook, PagerDuty Events v2, generic JSON webhook).
 * Deliveries run beside the cycle and never hold it up; a channel that fails is logged.
 * A repeated decision is sent again only after `repeat_after`, so a held-back failover
 * escalating every cycle is one message, not one per interval.
 */
export class Notifier {
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly decisions: Set<string>;
  private readonly repeatAfterS: number;
  private readonly timeoutMs: number;
  private readonly pending = new Set<Promise<Delivery[]>>();
  /** The incident in progress: its first decision's time keys PagerDuty, its last send limits repeats. */
  private incident?: { since: number; sent: Map<Action, number> };

  constructor(private readonly options: NotifierOptions) {
    const s = options.settings;
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? (() => Date.now() / 1000);
    this.decisions = new Set(s.decisions ?? Object.keys(SEVERITY));
    this.repeatAfterS = s.repeat_after ?? 1800;
    this.timeoutMs = (s.timeout ?? 10) * 1000;
  }

  /** The controller's decision sink calls this for every decision; it returns at once. */
  onDecision(decision: Decision): void {
    if (decision.action === 'none') {
      this.incident = undefined;
      return;
    }
    const action = decision.action;
    const now = this.clock();
    this.incident ??= { since: decision.at, sent: new Map() };
    const last = this.incident.sent.get(action);
    if (last !== undefined && now - last < this.repeatAfterS) return;
    this.incident.sent.set(action, now);
    if (!this.decisions.has(action)) return;
    const held = decision.blocked_by.length ? ` Held back by: ${decision.blocked_by.join('; ')}.` : '';
    this.dispatch({
      kind: 'decision',
      subject: action,
      source: 'controller',
      key: `incident-${Math.floor(this.incident.since)}`,
      severity: SEVERITY[action],
      text:
        `CloudPhoenix decision: ${action.replaceAll('_', ' ')} (score ${decision.score}, level ${decision.level}, ` +
        `${decision.category}, ${decision.confidence} confidence). ${decision.reason}${held}`,
    });
  }

  /** Runbook results and approval waits, from the engine's events. */
  onRunEvent(event: RunEvent): void {
    if (this.options.settings.runbooks === false) return;
    if (event.type === 'run' && RUN_SEVERITY[event.status]) {
      this.dispatch({
        kind: 'runbook',
        subject: event.status,
        source: event.runbook,
        key: event.runId,
        severity: RUN_SEVERITY[event.status],
        text: `CloudPhoenix runbook ${event.runbook} run ${event.runId} ${event.status}${event.error ? `: ${event.error}` : ''}`,
      });
    } else if (event.type === 'approval' && event.status === 'waiting') {
      this.dispatch({
        kind: 'runbook',
        subject: 'waiting_approval',
        source: 'runbook',
        key: event.runId,
        severity: 'critical',
        text: `CloudPhoenix run ${event.runId} waits for approval at ${event.gate}: phoenix approve ${event.runId} (or abort)`,
      });
    }
  }

  /** The readiness monitor's change events: not ready opens an alert, ready again resolves it. */
  onReadiness(report: ReadinessReport, previous: ReadinessReport | undefined): void {
    if (this.options.settings.readiness === false) return;
    if (report.ready && !previous) return;
    const failures = readinessFailures(report);
    this.dispatch({
      kind: 'readiness',
      subject: report.ready ? 'ready' : 'not_ready',
      source: 'controller',
      key: 'runbook-readiness',
      severity: report.ready ? 'info' : 'warning',
      resolve: report.ready,
      text: report.ready
        ? 'CloudPhoenix runbooks pass their pre-flight checks again'
        : `CloudPhoenix runbooks are NOT ready; a failover now would fail: ${failures.slice(0, 5).join('; ')}${failures.length > 5 ? ` (+${failures.length - 5} more)` : ''}`,
    });
  }

  /** Waits for deliveries in flight (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private dispatch(note: Notification): void {
    if (note.text.length > MAX_TEXT) note.text = `${note.text.slice(0, MAX_TEXT - 1)}…`;
    const delivery = this.send(note);
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Sends one notification to every channel at once. Never throws. */
  async send(note: Notification): Promise<Delivery[]> {
    const adapter = getAdapter('notify');
    const results = await Promise.all(
      this.options.settings.channels.map(async (channel): Promise<Delivery> => {
        try {
          const params = adapter.schema.parse({
            ...channel,
            message: note.text,
            ...(channel.channel === 'pagerduty'
              ? { severity: note.severity, event_action: note.resolve ? 'resolve' : 'trigger' }
              : {}),
          });
          const result = await adapter.run(params, {
            runId: note.key,
            runbook: note.source,
            stage: note.kind,
            step: note.subject,
            attempt: 1,
            resumed: false,
            signal: AbortSignal.timeout(this.timeoutMs),
            workDir: tmpdir(),
            env: process.env,
            progress: () => undefined,
          });
          return { channel: channel.channel, ok: true, detail: result.summary };
        } catch (error) {
          return { channel: channel.channel, ok: false, detail: redactText((error as Error).message) };
        }
      }),
    );
    for (const r of results) {
      if (r.ok) this.logger.info({ channel: r.channel, kind: note.kind, subject: note.subject }, 'notified');
      else
        this.logger.error(
          { channel: r.channel, kind: note.kind, subject: note.subject, error: r.detail },
          'notification not delivered',
        );
    }
    return results;
  }
}
