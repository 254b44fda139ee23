import { tmpdir } from 'node:os';
import { getAdapter, transientState } from '../actions/index.js';
import type { RawConfig } from '../config/index.js';
import type { Action, Decision } from '../core/index.js';
import { redactText, silentLogger, type Logger } from '../log/index.js';
import { readinessFailures, type ReadinessReport, type RunEvent } from '../runbook/index.js';
import { FencedError, type DecisionStateStore } from '../store/index.js';
import type { NotifierState } from './state.js';

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
  /** Bookkeeping that only closes an incident (an approval no longer awaited): PagerDuty only, not chat. */
  incidentOnly?: boolean;
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

/**
 * Run results: a failure opens an incident; success and a cleared run close the
 * run's incident (PagerDuty `resolve`), since "it worked" is not something to page for.
 */
const RUN_RESULT: Record<string, { severity: Severity; resolve: boolean }> = {
  failed: { severity: 'critical', resolve: false },
  aborted: { severity: 'warning', resolve: false },
  succeeded: { severity: 'info', resolve: true },
  cleared: { severity: 'info', resolve: true },
};

/** Dedup keys: one per incident, one per run's result, one per approval gate, so none lands on another's incident. */
export const dedupKeys = {
  incident: (since: number): string => `incident-${Math.floor(since)}`,
  run: (runId: string): string => `run-${runId}`,
  approval: (runId: string, gate: string): string =>
    `approval-${runId}-${gate.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`.slice(0, 200),
};

export interface NotifierOptions {
  settings: NotificationsSection;
  logger?: Logger;
  /** Unix seconds; tests pass their own. */
  clock?: () => number;
  /** Where what was sent is kept (the controller's store), so a restart or a takeover sends nothing twice. */
  state?: DecisionStateStore<NotifierState>;
  /** The controller lease: only its leader sends, and its state writes carry the fencing token. */
  leader?: { currentToken(): number | undefined };
}

/**
 * Tells on-call what the controller decided and what its runbooks did, through the
 * `notify` step's wire code (Slack webhook, PagerDuty Events v2, generic JSON webhook).
 * Deliveries run beside the cycle and never hold it up; a channel that fails is logged.
 * A repeated decision is sent again only after `repeat_after`, so a held-back failover
 * escalating every cycle is one message, not one per interval.
 *
 * With a `state` store, what was sent (the open incident and its key, the last send of
 * each decision, the approval alerts open) is saved before it is sent, fenced by the
 * leader's token: a restarted controller or the follower that takes over sends nothing
 * twice and resolves, with the same dedup key, what its predecessor opened; an ex-leader
 * whose write the store refuses sends nothing.
 */
export class Notifier {
  private readonly logger: Logger;
  private readonly clock: () => number;
  private settings!: NotificationsSection;
  private decisions!: Set<string>;
  private repeatAfterS!: number;
  private timeoutMs!: number;
  private readonly pending = new Set<Promise<Delivery[]>>();
  private state: NotifierState = { approvals: {} };
  /**
   * The fencing token under which `state` was loaded from the store (null without a lease);
   * undefined when it must be loaded again. A process elected again reloads what the
   * leaders between its terms sent.
   */
  private loadedFor?: number | null;
  /** Decisions and run events are handled one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  /** The readiness monitor's latest report, kept by followers too: a new leader announces what changed. */
  private lastReadiness?: ReadinessReport;

  constructor(private readonly options: NotifierOptions) {
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? (() => Date.now() / 1000);
    this.useSettings(options.settings);
  }

  /**
   * Channels and rules resolved again (a secret readable at last, or rotated): the next notification
   * goes through them. What was sent and what is open stays.
   */
  useSettings(settings: NotificationsSection): void {
    this.settings = settings;
    this.decisions = new Set(settings.decisions ?? Object.keys(SEVERITY));
    this.repeatAfterS = settings.repeat_after ?? 1800;
    this.timeoutMs = (settings.timeout ?? 10) * 1000;
  }

  /** The controller's decision sink calls this for every decision; it returns at once. */
  onDecision(decision: Decision): void {
    this.enqueue(() =>
      decision.action === 'none' ? this.resolveIncident(decision) : this.decided(decision),
    );
  }

  private decided(decision: Decision): Notification[] {
    const action = decision.action as Exclude<Action, 'none'>;
    const now = this.clock();
    const incident = (this.state.incident ??= { since: decision.at, sent: {}, notified: false });
    const last = incident.sent[action];
    if (last !== undefined && now - last < this.repeatAfterS) return [];
    incident.sent[action] = now;
    if (!this.decisions.has(action)) return [];
    incident.notified = true;
    const held = decision.blocked_by.length ? ` Held back by: ${decision.blocked_by.join('; ')}.` : '';
    return [
      {
        kind: 'decision',
        subject: action,
        source: 'controller',
        key: dedupKeys.incident(incident.since),
        severity: SEVERITY[action],
        text:
          `CloudPhoenix decision: ${action.replaceAll('_', ' ')} (score ${decision.score}, level ${decision.level}, ` +
          `${decision.category}, ${decision.confidence} confidence). ${decision.reason}${held}`,
      },
    ];
  }

  /**
   * The condition cleared: the incident opened (by this notifier or its predecessor) is
   * resolved, once. A `none` held back (the cooldown after a failover: the outage goes on,
   * a second failover is not decided) clears nothing.
   */
  private resolveIncident(decision: Decision): Notification[] {
    if (decision.blocked_by.length) return [];
    const incident = this.state.incident;
    delete this.state.incident;
    if (!incident?.notified) return [];
    return [
      {
        kind: 'decision',
        subject: 'none',
        source: 'controller',
        key: dedupKeys.incident(incident.since),
        severity: 'info',
        resolve: true,
        text: `CloudPhoenix: the condition cleared (score ${decision.score}, level ${decision.level}). ${decision.reason}`,
      },
    ];
  }

  /** Runbook results and approval waits, from the engine's events. */
  onRunEvent(event: RunEvent): void {
    if (this.settings.runbooks === false) return;
    this.enqueue(() => this.runEvent(event));
  }

  private runEvent(event: RunEvent): Notification[] {
    const approvals = this.state.approvals;
    if (event.type === 'run' && RUN_RESULT[event.status]) {
      const didNothing = event.without_effect ?? [];
      // A run that succeeded while a stage of it did nothing (a fence left pending) is not all clear.
      const result =
        event.status === 'succeeded' && didNothing.length
          ? { severity: 'warning' as const, resolve: false }
          : RUN_RESULT[event.status]!;
      const nothing = didNothing.length
        ? `; did nothing: ${didNothing.map((d) => `stage ${d.stage} (every step failed: ${d.failed_steps.join(', ')})`).join('; ')}`
        : '';
      const notes: Notification[] = [
        {
          kind: 'runbook',
          subject: event.status,
          source: event.runbook,
          key: dedupKeys.run(event.runId),
          severity: result.severity,
          resolve: result.resolve,
          text: `CloudPhoenix runbook ${event.runbook} run ${event.runId} ${event.status}${event.error ? `: ${event.error}` : ''}${nothing}`,
        },
      ];
      // A run that ended waits for no approval any more.
      for (const gate of approvals[event.runId] ?? [])
        notes.push(this.approvalDone(event.runId, gate, event.status));
      delete approvals[event.runId];
      return notes;
    }
    if (event.type === 'approval' && event.status === 'waiting') {
      const gates = approvals[event.runId] ?? [];
      // Already announced (by this process, or by the leader before it that ran this run).
      if (gates.includes(event.gate)) return [];
      approvals[event.runId] = [...gates, event.gate];
      return [
        {
          kind: 'runbook',
          subject: 'waiting_approval',
          source: 'runbook',
          key: dedupKeys.approval(event.runId, event.gate),
          severity: 'critical',
          text: `CloudPhoenix run ${event.runId} waits for approval at ${event.gate}: phoenix approve ${event.runId} (or abort)`,
        },
      ];
    }
    if (event.type === 'approval' && event.status === 'approved') {
      const gates = (approvals[event.runId] ?? []).filter((g) => g !== event.gate);
      if (gates.length) approvals[event.runId] = gates;
      else delete approvals[event.runId];
      return [this.approvalDone(event.runId, event.gate, `approved${event.by ? ` by ${event.by}` : ''}`)];
    }
    return [];
  }

  private approvalDone(runId: string, gate: string, outcome: string): Notification {
    return {
      kind: 'runbook',
      subject: 'approval_done',
      source: 'runbook',
      key: dedupKeys.approval(runId, gate),
      severity: 'info',
      resolve: true,
      incidentOnly: true,
      text: `CloudPhoenix run ${runId} no longer waits at ${gate}: ${outcome}`,
    };
  }

  /** Loads what was sent from the store (on start, and when this process takes over). */
  restore(): Promise<void> {
    const restored = this.queue.then(() => this.load());
    this.queue = restored.catch(() => undefined);
    // A readiness change seen while another controller led: announced now, unless it already was.
    const latest = this.lastReadiness;
    if (latest) this.enqueue(() => this.readinessChanged(latest));
    return restored;
  }

  private async load(): Promise<void> {
    if (!this.options.state) return;
    const stored = await this.options.state.load();
    this.state = stored?.state ?? { approvals: {} };
    this.loadedFor = this.options.leader?.currentToken() ?? null;
  }

  /**
   * Applies one change to the state, in turn: a follower changes nothing and sends nothing;
   * the leader saves the new state (fenced) and then sends what the change produced.
   */
  private enqueue(change: () => Notification[]): void {
    this.queue = this.queue
      .then(async () => {
        if (!this.acting()) return;
        if (this.loadedFor !== (this.options.leader?.currentToken() ?? null))
          await this.load().catch((error: unknown) =>
            this.logger.warn(
              { err: error },
              'could not load the notification state; using what this process knows',
            ),
          );
        const before = JSON.stringify(this.state);
        const notes = change();
        if (JSON.stringify(this.state) !== before && !(await this.save(before))) return;
        for (const note of notes) this.dispatch(note);
      })
      .catch((error: unknown) => this.logger.error({ err: error }, 'a notification could not be prepared'));
  }

  private acting(): boolean {
    return !this.options.leader || this.options.leader.currentToken() !== undefined;
  }

  /** Saves the state; false (and the state as it was) when this process may not send. */
  private async save(before: string): Promise<boolean> {
    const token = this.options.leader?.currentToken();
    const refused = (reason: string) => {
      this.state = JSON.parse(before) as NotifierState;
      this.loadedFor = undefined;
      this.logger.error({ reason }, `not notifying: ${reason}`);
      return false;
    };
    if (this.options.leader && token === undefined) return refused('this controller no longer leads');
    if (!this.options.state) return true;
    try {
      await this.options.state.save(this.state, this.clock(), token);
      return true;
    } catch (error) {
      if (error instanceof FencedError) return refused(error.message);
      // On-call must hear of the incident even when the store fails; a restart may repeat it.
      this.logger.error({ err: error }, 'could not save the notification state; notifying anyway');
      return true;
    }
  }

  /**
   * The readiness monitor's reports: not ready opens an alert, ready again resolves it. Whether an
   * alert is open is kept in the notification state, so a restart or another leader neither repeats
   * the alert nor leaves it open; ready with nothing announced is not news.
   */
  onReadiness(report: ReadinessReport): void {
    if (this.settings.readiness === false) return;
    this.lastReadiness = report;
    this.enqueue(() => this.readinessChanged(report));
  }

  private readinessChanged(report: ReadinessReport): Notification[] {
    const open = this.state.notReadyAlert === true;
    if (report.ready === !open) return [];
    if (report.ready) delete this.state.notReadyAlert;
    else this.state.notReadyAlert = true;
    const failures = readinessFailures(report);
    return [
      {
        kind: 'readiness',
        subject: report.ready ? 'ready' : 'not_ready',
        source: 'controller',
        key: 'runbook-readiness',
        severity: report.ready ? 'info' : 'warning',
        resolve: report.ready,
        text: report.ready
          ? 'CloudPhoenix runbooks pass their pre-flight checks again'
          : `CloudPhoenix runbooks are NOT ready; a failover now would fail: ${failures.slice(0, 5).join('; ')}${failures.length > 5 ? ` (+${failures.length - 5} more)` : ''}`,
      },
    ];
  }

  /** Waits for the changes queued and the deliveries in flight (shutdown, tests). */
  async flush(): Promise<void> {
    for (;;) {
      await this.queue;
      if (!this.pending.size) return;
      await Promise.allSettled([...this.pending]);
    }
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
    const channels = this.settings.channels.filter((c) => !note.incidentOnly || c.channel === 'pagerduty');
    const results = await Promise.all(
      channels.map(async (channel): Promise<Delivery> => {
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
            idempotencyKey: `${note.key}/${note.subject}/1`,
            signal: AbortSignal.timeout(this.timeoutMs),
            state: transientState(),
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
