/**
 * A runtime pause of automation, as an Alertmanager silence pauses notifications: the controller
 * still probes, scores, decides and records every decision, but starts no runbook until the pause
 * ends (`phoenix resume`) or expires by itself.
 */
export interface Pause {
  /** Unix seconds the pause began and ends. */
  at: number;
  until: number;
  by: string;
  reason: string;
}

/** The pause in force at `now`, or undefined (none, lifted, or expired). */
export function activePause(pause: Pause | null | undefined, now: number): Pause | undefined {
  return pause && pause.until > now ? pause : undefined;
}

/** Why a decision starts no runbook while paused, for the decision log and the run refusal. */
export function pauseRefusal(pause: Pause): string {
  return `automation paused by ${pause.by} until ${new Date(pause.until * 1000).toISOString()} (${pause.reason}): the decision is recorded, no runbook starts; phoenix resume lifts the pause`;
}
