import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, stepStateIn } from '../../runbook/journal.js';
import { SqliteSql } from '../../store/index.js';
import { scratchDatabase } from '../database/drill.js';
import type { DrillContext, PreflightContext, StepContext, StepState } from '../types.js';

/**
 * The step's state in a store of its own in the work directory, as the engine keeps it in the controller's:
 * contexts given the same workDir (attempts of one step, in this process or a child) share it.
 */
function storedState(workDir: string, runId: string, step: string): StepState {
  let journal: Journal | undefined;
  const state = () =>
    stepStateIn((journal ??= new Journal(SqliteSql.open(join(workDir, 'phoenix.db')))), runId, step);
  return {
    load: <T>() => state().load<T>(),
    save: (value) => state().save(value),
    loadOf: <T>(other: string) => state().loadOf!<T>(other),
  };
}

/** A step context as the engine builds one, for adapter tests that call `run` directly. */
export function stepContext(overrides: Partial<StepContext> = {}): StepContext & { messages: string[] } {
  const messages: string[] = [];
  const runId = overrides.runId ?? 'run-test';
  const step = overrides.step ?? 'step';
  const workDir = overrides.workDir ?? mkdtempSync(join(tmpdir(), 'phoenix-step-'));
  return {
    runId,
    runbook: 'dr_failover',
    stage: 'stage',
    step,
    attempt: 1,
    resumed: false,
    idempotencyKey: `${runId}/${step}/1`,
    signal: new AbortController().signal,
    workDir,
    state: storedState(workDir, runId, step),
    env: process.env,
    progress: (m) => messages.push(m),
    messages,
    ...overrides,
  };
}

export function preflightContext(overrides: Partial<PreflightContext> = {}): PreflightContext {
  return { env: process.env, timeoutMs: 3000, ...overrides };
}

/** A drill context after a database step (`copy-db`) rehearsed on a scratch copy on `server`, as the journal records it. */
export function drillAfterDatabase(runId: string, server: string): DrillContext {
  return {
    ...stepContext({ runId }),
    rehearsed: {
      'copy-db': {
        type: 'database',
        output: { scratch_database: scratchDatabase(runId), scratch_server: server },
      },
    },
  };
}
