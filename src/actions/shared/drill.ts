import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  StepError,
  type DrillContext,
  type PreflightCheck,
  type StepContext,
  type StepResult,
} from '../types.js';

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

/** Where a drill deploys (kubernetes, helm): a namespace of its own, pointed at the scratch database. */
export const drillDeploySchema = z
  .object({
    /** The drill namespace; default `<namespace>-drill`. Never the live namespace. */
    namespace: z.string().min(1).optional(),
    /** The database step whose scratch copy the drill deployment uses; default: the last one rehearsed before. */
    database_step: z.string().min(1).optional(),
  })
  .strict();

export type DrillDeployParams = z.output<typeof drillDeploySchema>;

/** The namespace a drill deploys into: the configured one, else `<namespace>-drill`; never the live one. */
export function drillNamespace(namespace: string, drill?: DrillDeployParams): string {
  const name = drill?.namespace ?? `${namespace}-drill`;
  if (name === namespace)
    throw new StepError(
      `drill: the drill namespace ${name} is the live namespace; set drill.namespace to another one`,
    );
  return name;
}

/** The scratch copy a database rehearsal made earlier in the run, as its journaled output records it. */
export interface ScratchDatabase {
  step: string;
  database: string;
  /** The scratch server's URL, password masked. */
  server: string;
}

/**
 * The scratch database of this drill: from the named database step's rehearsal, else the last database
 * step rehearsed before. Read from the journal, so a resumed drill still knows it.
 */
export function scratchDatabaseOf(ctx: DrillContext, step?: string): ScratchDatabase | undefined {
  const rehearsed = Object.entries(ctx.rehearsed).filter(
    ([name, r]) =>
      r.type === 'database' && typeof r.output.scratch_database === 'string' && (!step || name === step),
  );
  if (step && rehearsed.length === 0)
    throw new StepError(
      `drill: database step ${step} made no scratch database before this step; check drill.database_step and the step order`,
    );
  const last = rehearsed.at(-1);
  if (!last) return undefined;
  return {
    step: last[0],
    database: String(last[1].output.scratch_database),
    server: String(last[1].output.scratch_server),
  };
}

/**
 * The app's own database URL pointed at the scratch copy: the scratch server's host and port and the
 * scratch database (if the copy has one of its own), with the app's credentials and options.
 */
export function pointAtScratch(liveUrl: string, scratch: ScratchDatabase, what: string): string {
  let url: URL;
  try {
    url = new URL(liveUrl);
  } catch {
    throw new StepError(
      `drill: ${what} is not a postgresql:// URL, so it cannot be pointed at the scratch database ${scratch.database}; give the URL there`,
    );
  }
  const server = new URL(scratch.server);
  url.hostname = server.hostname;
  url.port = server.port;
  // A restored server (Azure) holds the databases by their own names: only the host changes.
  if (scratch.database) url.pathname = `/${scratch.database}`;
  return url.toString();
}
