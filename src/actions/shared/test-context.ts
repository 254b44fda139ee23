import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PreflightContext, StepContext } from '../types.js';

/** A step context as the engine builds one, for adapter tests that call `run` directly. */
export function stepContext(overrides: Partial<StepContext> = {}): StepContext & { messages: string[] } {
  const messages: string[] = [];
  return {
    runId: 'run-test',
    runbook: 'dr_failover',
    stage: 'stage',
    step: 'step',
    attempt: 1,
    resumed: false,
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
