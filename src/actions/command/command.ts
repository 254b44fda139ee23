import { existsSync } from 'node:fs';
import { findExecutable, runProcess } from '../shared/process.js';
import { StepError, type StepAdapter } from '../types.js';
import { commandParamsSchema, type CommandParams } from './config.js';

/**
 * Runs a program. It learns the run, step, attempt, whether an earlier attempt was interrupted and the
 * step's idempotency key (PHOENIX_IDEMPOTENCY_KEY, to pass on to what it calls) from PHOENIX_* environment
 * variables, so it can make itself idempotent: a program killed mid-way is started again.
 */
export const commandAdapter: StepAdapter<CommandParams> = {
  type: 'command',
  schema: commandParamsSchema,
  describe: (p) => `run ${[p.command, ...p.args].join(' ').slice(0, 120)}`,
  async preflight(p, ctx) {
    const found = findExecutable(p.command, ctx.env);
    const checks = [
      {
        check: `${p.command} present`,
        ok: Boolean(found),
        detail: found ?? `${p.command} is not on PATH; install it or give its full path`,
      },
    ];
    if (p.cwd) {
      checks.push({
        check: 'working directory exists',
        ok: existsSync(p.cwd),
        detail: existsSync(p.cwd) ? p.cwd : `${p.cwd} does not exist; create it or fix cwd`,
      });
    }
    return checks;
  },
  async run(p, ctx) {
    const result = await runProcess(p.command, p.args, {
      signal: ctx.signal,
      cwd: p.cwd,
      allowFailure: true,
      env: {
        ...ctx.env,
        ...p.env,
        PHOENIX_RUN_ID: ctx.runId,
        PHOENIX_RUNBOOK: ctx.runbook,
        PHOENIX_STAGE: ctx.stage,
        PHOENIX_STEP: ctx.step,
        PHOENIX_ATTEMPT: String(ctx.attempt),
        PHOENIX_RESUMED: ctx.resumed ? '1' : '0',
        PHOENIX_IDEMPOTENCY_KEY: ctx.idempotencyKey,
        PHOENIX_WORK_DIR: ctx.workDir,
        ...(ctx.fencingToken !== undefined && { PHOENIX_FENCING_TOKEN: String(ctx.fencingToken) }),
      },
    });
    const last = (result.stdout.trim() || result.stderr.trim()).split('\n').slice(-1)[0] ?? '';
    if (!p.success_codes.includes(result.code)) {
      const why = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
      throw new StepError(`${p.command} exited with ${result.code}: ${why || '(no output)'}`);
    }
    return {
      summary: `${p.command} exited ${result.code}${last ? `: ${last.slice(0, 200)}` : ''}`,
      output: {
        exit_code: result.code,
        stdout_tail: result.stdout.slice(-2000),
        stderr_tail: result.stderr.slice(-2000),
      },
    };
  },
};
