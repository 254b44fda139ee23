import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchDatabase } from '../database/drill.js';
import type { DrillContext, PreflightContext, StepContext } from '../types.js';

/** A step context as the engine builds one, for adapter tests that call `run` directly. */
export function stepContext(overrides: Partial<StepContext> = {}): StepContext & { messages: string[] } {
  const messages: string[] = [];
  const runId = overrides.runId ?? 'run-test';
  const step = overrides.step ?? 'step';
  return {
    runId,
    runbook: 'dr_failover',
    stage: 'stage',
    step,
    attempt: 1,
    resumed: false,
    idempotencyKey: `${runId}/${step}/1`,
    signal: new AbortController().signal,
    workDir: mkdtempSync(join(tmpdir(), 'phoenix-step-')),
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
