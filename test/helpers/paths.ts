import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { execFile, spawn } from 'node:child_process';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_SCENARIOS = resolve(REPO_ROOT, '../shared/scenarios');
export const PUBLIC_CORPUS = resolve(SHARED_SCENARIOS, 'public');
export const OWN_SCENARIOS = resolve(REPO_ROOT, 'test/scenarios');
/**
 * The built CLI, as users run it. `scripts/run-tests.mjs` rebuilds dist/ first whenever a source
 * file is newer, so tests never run a stale build; and the CLI (and the lab daemons it starts)
 * skip compiling TypeScript in every process.
 */
export const PHOENIX_CLI = resolve(REPO_ROOT, 'dist/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built phoenix CLI. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [PHOENIX_CLI, ...args],
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

/** A `phoenix` process started from source, with its combined output and a clean way to stop it. */
export interface PhoenixProcess {
  child: import('node:child_process').ChildProcess;
  /** stdout so far (JSON log lines with --log-format json). */
  stdout(): string;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  exited: Promise<number | null>;
  /** Polls until `ready` holds; fails with the output when the process exits or the time runs out. */
  waitFor(ready: () => boolean | Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then the exit code; SIGKILL if it does not stop in time. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function startPhoenix(args: string[], env: NodeJS.ProcessEnv = {}): PhoenixProcess {
  const child = spawn(process.execPath, [PHOENIX_CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let all = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c;
    all += c;
  });
  child.stderr!.on('data', (c: Buffer) => (all += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    stdout: () => out,
    output: () => all,
    exited,
    async waitFor(ready, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await ready())) {
        if (child.exitCode !== null)
          throw new Error(`phoenix exited (${child.exitCode}) before ${what}:\n${all}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${all}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
