import { SiteStateStore } from '../../lifecycle/index.js';
import { createInterface } from 'node:readline/promises';
import { Listr, PRESET_TIMER, type ListrTaskWrapper } from 'listr2';
import type { PhoenixConfig } from '../../config/index.js';
import { FencedError, leaseStoreOn, type SqlDb } from '../../store/index.js';
import { LeaderElector } from '../../controller/leader.js';
import {
  buildPlan,
  checkPlan,
  formatReadiness,
  formatReport,
  formatSeconds,
  Journal,
  RunbookEngine,
  type RunEvent,
  type RunHandle,
  type RunReport,
} from '../../runbook/index.js';
import { ContinuedFailures } from '../../report/index.js';
import { UserError } from '../errors.js';
import {
  asUserError,
  loadRunbookConfigWithSecrets,
  openStore,
  whoAmI,
  type ConfigFlag,
} from './journal-access.js';
import { print, printErr } from '../output.js';

/** Helpers shared by the runbook commands that plan and run runbooks (plan, failover, failback, drill). */

/**
 * The CLI acts only as the controller lease's holder, like a controller: a runbook started
 * beside a live controller would be a second actor. With the lease, every journal write and
 * step start is fenced with its token; without it, the command refuses, naming the leader.
 */
async function takeControllerLease(
  db: SqlDb,
  config: PhoenixConfig,
  runbook: string,
): Promise<{ fence: () => Promise<number>; release(): Promise<void> }> {
  const lease = leaseStoreOn(db);
  const leader = new LeaderElector({ lease, ttl_s: config.store.lease_ttl_s });
  const status = await leader.start();
  if (status.role !== 'leader') {
    await leader.stop();
    throw new UserError(
      `a controller leads this store: ${status.leader ?? 'unknown'} (fencing token ${status.token ?? '?'}); phoenix ${runbook === 'failback' ? 'failback' : 'failover'} would act beside it. Let the controller act (it starts ${runbook} when it decides to), stop it first, or ask it through its API`,
    );
  }
  return {
    fence: async () => {
      const token = leader.currentToken();
      if (token === undefined) throw new FencedError('this process no longer holds the controller lease');
      await lease.assertToken(token);
      return token;
    },
    release: () => leader.stop(),
  };
}

/** Prints the plan with every step's pre-flight check; returns whether everything passed. */
export async function printPlan(config: PhoenixConfig, runbook: string, json: boolean): Promise<boolean> {
  let plan;
  try {
    plan = buildPlan(config, runbook);
  } catch (error) {
    asUserError(error);
  }
  const result = await checkPlan(plan);
  if (json) print(JSON.stringify(result) + '\n');
  else print(formatReadiness(result, plan) + '\n');
  return result.ok;
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Plain progress lines for logs and pipes: one line per change, with the time since the start. */
function plainProgress(started: number): (event: RunEvent) => void {
  const continued = new ContinuedFailures();
  return (event) => {
    const at = `[+${formatSeconds((Date.now() - started) / 1000)}]`;
    let line: string | undefined;
    if (event.type === 'run')
      line = `run ${event.runId} ${event.runbook}: ${event.status}${event.resumed ? ' (resumed)' : ''}`;
    else if (event.type === 'stage')
      line = `stage ${event.stage}: ${continued.describe(event.stage, event.status)}`;
    else if (event.type === 'step') {
      continued.onStep(event.stage, event.step, event.status, event.error);
      const detail = event.error ?? event.summary ?? '';
      line = `  step ${event.step}: ${event.status}${event.attempt ? ` (attempt ${event.attempt}${event.resumed ? ', resumed' : ''})` : ''}${detail ? ` — ${detail}` : ''}`;
    } else if (event.type === 'progress') line = `  step ${event.step}: ${event.message}`;
    else if (event.type === 'approval') {
      line =
        event.status === 'waiting'
          ? `approval needed for ${event.gate}: run phoenix approve ${event.runId} (or phoenix abort ${event.runId})`
          : `approved ${event.gate} by ${event.by ?? 'someone'}`;
    }
    if (line) printErr(`${at} ${line}\n`);
  };
}

/**
 * A listr2 task list with one task per stage: its status, its steps' progress and the
 * elapsed time. The engine runs on its own; the tasks only mirror its events.
 */
function listrProgress(stages: string[]): { onEvent(event: RunEvent): void; done: Promise<void> } {
  const gates = new Map(stages.map((s) => [s, deferred()]));
  const wrappers = new Map<string, ListrTaskWrapper<unknown, never, never>>();
  const pending = new Map<string, string>();
  const titles = new Map<string, string>();
  const list = new Listr(
    stages.map((stage) => ({
      title: stage,
      task: async (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
        wrappers.set(stage, task);
        const early = pending.get(stage);
        if (early) task.output = early;
        // The engine can finish a stage before listr2 starts its task: its title waits here.
        const title = titles.get(stage);
        if (title) task.title = title;
        await gates.get(stage)!.promise;
      },
    })),
    {
      concurrent: false,
      exitOnError: false,
      rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false, outputBar: 3, persistentOutput: true },
    } as never,
  );
  const done = list.run().then(
    () => undefined,
    () => undefined,
  );
  const write = (stage: string, text: string) => {
    const task = wrappers.get(stage);
    if (task) task.output = text;
    else pending.set(stage, text);
  };
  const continued = new ContinuedFailures();
  return {
    done,
    onEvent(event) {
      if (event.type === 'stage') {
        const task = wrappers.get(event.stage);
        // A stage that went on past a failed step says so in its title, with the reason.
        const described = continued.describe(event.stage, event.status);
        if (described !== event.status) {
          titles.set(event.stage, `${event.stage}: ${described}`);
          if (task) task.title = `${event.stage}: ${described}`;
        }
        if (event.status === 'succeeded') gates.get(event.stage)?.resolve();
        else if (event.status === 'failed')
          gates.get(event.stage)?.reject(new Error(`${event.stage} failed`));
        else if (event.status === 'skipped') gates.get(event.stage)?.resolve();
      } else if (event.type === 'step') {
        continued.onStep(event.stage, event.step, event.status, event.error);
        write(
          event.stage,
          `${event.step}: ${event.status}${event.error ? ` — ${event.error}` : event.summary ? ` — ${event.summary}` : ''}`,
        );
      } else if (event.type === 'progress') {
        write(event.stage, `${event.step}: ${event.message}`);
      } else if (event.type === 'approval' && event.status === 'waiting') {
        const stage =
          stages.find((s) => event.gate === `stage:${s}`) ?? [...wrappers.keys()].at(-1) ?? stages[0];
        write(stage, `waiting for approval (${event.gate}): phoenix approve ${event.runId}`);
      } else if (event.type === 'run' && event.status !== 'running' && event.status !== 'waiting_approval') {
        // Stages that never ran (cleared or aborted run) end the list.
        for (const gate of gates.values()) gate.reject(new Error(event.status));
      }
    },
  };
}

export interface ExecuteFlags extends ConfigFlag {
  yes?: boolean;
  json?: boolean;
  resume?: string;
  reason?: string;
  /** Starts the runbook inside the cooldown of its previous run; the reason is journaled. */
  overrideCooldown?: string;
  /** Who started the run; `drill` runs it in drill mode (src/runbook/drill-mode.ts). */
  trigger?: string;
  /** The command that resumes it, for the message after Ctrl-C. */
  resumeWith?: string;
}

/** Starts (or resumes) a runbook, shows its progress, prints its report; exit 1 unless it succeeded or cleared. */
export async function executeRunbook(requested: string, flags: ExecuteFlags): Promise<RunReport> {
  const config = await loadRunbookConfigWithSecrets(flags);
  let runbook = requested;
  if (flags.resume) {
    const db = await openStore(config);
    const run = await new Journal(db).getRun(flags.resume).finally(() => db.close());
    if (!run) throw new UserError(`no run ${flags.resume} in the store; list runs with phoenix runs`);
    runbook = run.runbook;
  }
  let plan;
  try {
    plan = buildPlan(config, runbook);
  } catch (error) {
    asUserError(error);
  }
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !flags.json;
  if (!flags.yes && !flags.resume) {
    if (!interactive) {
      throw new UserError(
        `refusing to start ${runbook} without confirmation: pass --yes (runs without prompts) or run it in a terminal`,
      );
    }
    const steps = plan.stages.reduce((n, s) => n + s.steps.length, 0);
    if (!(await ask(`Start ${runbook}: ${plan.stages.length} stages, ${steps} steps? [y/N] `))) {
      throw new UserError(`${runbook} not started`, 1);
    }
  }
  const db = await openStore(config);
  const lease = await takeControllerLease(db, config, runbook).catch(async (error: unknown) => {
    await db.close();
    throw error;
  });
  try {
    return await followRun(
      db,
      config,
      runbook,
      plan.stages.map((s) => s.name),
      flags,
      interactive,
      lease.fence,
    );
  } finally {
    await lease.release();
    await db.close();
  }
}

/** Starts or resumes the run with the lease's fence, shows its progress and prints its report. */
async function followRun(
  db: SqlDb,
  config: PhoenixConfig,
  runbook: string,
  stages: string[],
  flags: ExecuteFlags,
  interactive: boolean,
  fence: () => Promise<number>,
): Promise<RunReport> {
  const useListr = interactive && !process.env.PHOENIX_PLAIN_PROGRESS;
  const view = useListr ? listrProgress(stages) : undefined;
  const plain = flags.json ? undefined : plainProgress(Date.now());
  const ref: { engine?: RunbookEngine } = {};
  let prompting = false;
  const onEvent = (event: RunEvent) => {
    if (view) view.onEvent(event);
    else plain?.(event);
    if (event.type === 'approval' && event.status === 'waiting' && interactive && !prompting) {
      // In a terminal, answer the gate here; phoenix approve from elsewhere works too.
      prompting = true;
      void ask(`\nApprove ${event.gate} of ${event.runId}? [y/N] `).then((yes) => {
        prompting = false;
        // approved or aborted meanwhile: nothing to do
        if (yes) ref.engine?.journal.approve(event.runId, whoAmI(), event.gate).catch(() => undefined);
      });
    }
  };
  // Operator runs move the site state as the controller's do; reprotect and failback wait for the fence.
  const sites = new SiteStateStore(db);
  const engine = new RunbookEngine({ db, config, autoApprove: flags.yes, onEvent, fence, sites });
  ref.engine = engine;
  let handle: RunHandle;
  try {
    handle = flags.resume
      ? await engine.resume(flags.resume)
      : await engine.start(runbook, {
          trigger: flags.trigger ?? 'cli',
          reason: flags.reason,
          overrideCooldown: flags.overrideCooldown ? `${whoAmI()}: ${flags.overrideCooldown}` : undefined,
        });
  } catch (error) {
    asUserError(error);
  }
  if (handle.joined && !flags.json) {
    printErr(`a ${runbook} run is already active: joined ${handle.runId}; following it until it ends\n`);
  }
  // Ctrl-C leaves the run resumable rather than half-recorded.
  const onSigint = () => {
    printErr(
      `\ninterrupted: resume with phoenix ${flags.resumeWith ?? 'failover'} --resume ${handle.runId} --config ${config.file}\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  let report: RunReport;
  try {
    report = await handle.done;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  await view?.done;
  if (flags.json) print(JSON.stringify(report) + '\n');
  else print(formatReport(report) + '\n');
  process.exitCode = report.status === 'succeeded' || report.status === 'cleared' ? 0 : 1;
  return report;
}
