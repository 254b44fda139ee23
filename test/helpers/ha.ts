import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { PHOENIX_CLI, REPO_ROOT } from './paths.js';

export interface CliProcess {
  child: ChildProcess;
  exit: Promise<number>;
  output: () => string;
}

/** Starts the built phoenix CLI in its own process group (so a test can kill all of it). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = process.env): CliProcess {
  const child = spawn(process.execPath, [PHOENIX_CLI, ...args], {
    cwd: REPO_ROOT,
    detached: true,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exit = new Promise<number>((res) =>
    child.on('exit', (code, signal) => res(code ?? (signal ? 137 : 1))),
  );
  return { child, exit, output: () => output };
}

/** Kills what a test started, by process group; already-gone groups are fine. */
export function killAll(children: ChildProcess[]): void {
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Polls a condition until it holds or the deadline passes (then fails naming what it waited
 * for). The deadline is generous: starting the CLI from source takes long on a loaded machine.
 */
export async function waitFor(
  what: string | (() => string),
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
) {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads the store the way another process would (read-only, while the controller writes). */
export function query<T>(dbPath: string, sql: string, params: unknown[] = []): T[] {
  let db;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch {
    return [];
  }
  try {
    return db.prepare(sql).all(...params) as T[];
  } catch {
    return [];
  } finally {
    db.close();
  }
}
