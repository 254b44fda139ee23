import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { execFile } from 'node:child_process';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_SCENARIOS = resolve(REPO_ROOT, '../shared/scenarios');
export const PUBLIC_CORPUS = resolve(SHARED_SCENARIOS, 'public');
export const OWN_SCENARIOS = resolve(REPO_ROOT, 'test/scenarios');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the phoenix CLI from source, as a user would run the built one. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', resolve(REPO_ROOT, 'src/cli/main.ts'), ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 << 20,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}
