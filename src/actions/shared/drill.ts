import { createHash } from 'node:crypto';
import { StepError, type PreflightCheck, type StepContext, type StepResult } from '../types.js';

/**
 * The tag every drill resource of a run carries (scratch database, drill record, blob prefix): derived
 * from the run id alone, so a resumed drill, or its cleanup in another process, finds what it made.
 * Lower-case letters and digits: valid in a database name, a DNS label and a container name.
 */
export function drillTag(runId: string): string {
  return `drill${createHash('sha256').update(runId).digest('hex').slice(0, 10)}`;
}

/** A rehearsal that only checks the step could run (fence, a traffic switch): its pre-flight must pass. */
export function rehearsalByChecks(checks: PreflightCheck[], what: string): StepResult {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length)
    throw new StepError(
      `drill: could not ${what}: ${failed.map((c) => `${c.check}: ${c.detail}`).join('; ')}`,
    );
  return {
    summary: `drill: could ${what} (${checks.map((c) => c.check).join(', ') || 'nothing to check'}); nothing changed`,
    output: { checks },
  };
}

/** The pre-flight context a rehearsal gives its checks. */
export function checksContext(ctx: StepContext): {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  rpoBudgetS?: number;
} {
  return { env: ctx.env, timeoutMs: 5000, rpoBudgetS: ctx.rpoBudgetS };
}
