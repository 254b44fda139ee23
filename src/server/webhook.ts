import { z } from 'zod';

const labelSet = z.record(z.string(), z.string());

/** Prometheus Alertmanager's webhook payload, version 4. */
export const alertmanagerPayloadSchema = z.object({
  version: z.literal('4', { error: 'version must be "4" (Alertmanager webhook payload v4)' }),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: z.string(),
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved']),
      labels: labelSet,
      annotations: labelSet,
      startsAt: z.string(),
      endsAt: z.string(),
      generatorURL: z.string(),
      fingerprint: z.string().min(1),
    }),
  ),
});

export type AlertmanagerPayload = z.output<typeof alertmanagerPayloadSchema>;

/** The first few problems of a rejected payload, each with its JSON path. */
export function describePayloadError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}

export interface WebhookOutcome {
  /** Firing alerts for the watched system that started (or joined) a cycle. */
  accepted: string[];
  /** Firing alerts already seen within the dedup window. */
  duplicates: string[];
  /** Resolved alerts and alerts for other systems. */
  ignored: number;
  triggered: boolean;
  /** New alerts arrived right after another cycle was started for alerts: they ride on that one. */
  coalesced?: boolean;
  reason?: string;
}

/** New alerts this soon after a webhook-started cycle join it: the probes would see the same world. */
export const COALESCE_S = 10;

/**
 * Decides which alerts of a payload should start a cycle. An alert counts when
 * it is firing and carries every `match` label; one whose fingerprint was seen
 * within the dedup window is a duplicate, since Alertmanager re-sends a whole
 * group every group_interval and whenever one alert of it changes. A burst of
 * new alerts (one per group, sent at once) starts one cycle, not one each.
 */
export class AlertCoalescer {
  private readonly seen = new Map<string, number>();
  private lastTriggerAt = -Infinity;

  constructor(
    private readonly match: Record<string, string>,
    private readonly dedupWindowS: number,
  ) {}

  consider(payload: AlertmanagerPayload, now: number): WebhookOutcome {
    for (const [fingerprint, at] of this.seen)
      if (now - at >= this.dedupWindowS) this.seen.delete(fingerprint);
    const outcome: WebhookOutcome = { accepted: [], duplicates: [], ignored: 0, triggered: false };
    const names: string[] = [];
    for (const alert of payload.alerts) {
      const concerns = Object.entries(this.match).every(([label, value]) => alert.labels[label] === value);
      if (alert.status !== 'firing' || !concerns) {
        outcome.ignored++;
        continue;
      }
      if (this.seen.has(alert.fingerprint)) {
        outcome.duplicates.push(alert.fingerprint);
        continue;
      }
      this.seen.set(alert.fingerprint, now);
      outcome.accepted.push(alert.fingerprint);
      names.push(alert.labels.alertname ?? alert.fingerprint);
    }
    if (outcome.accepted.length > 0 && now - this.lastTriggerAt < COALESCE_S) {
      outcome.coalesced = true;
    } else if (outcome.accepted.length > 0) {
      this.lastTriggerAt = now;
      outcome.triggered = true;
      outcome.reason = `alertmanager: ${[...new Set(names)].slice(0, 5).join(', ')} firing (group ${payload.groupKey})`;
    }
    return outcome;
  }
}
