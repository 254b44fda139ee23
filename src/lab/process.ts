import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

export interface Daemon {
  pid: number;
  logFile: string;
}

/**
 * Starts a long-running process with its output in a log file. Detached daemons get their own process
 * group, so they outlive the starting process (`phoenix lab up` exits) and are stopped as a group.
 */
export function spawnDaemon(
  command: string,
  args: string[],
  options: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean },
): Daemon {
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached: options.detached ?? true,
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.on('error', () => undefined);
    child.unref();
    return { pid: child.pid, logFile: options.logFile };
  } finally {
    closeSync(fd);
  }
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    if (group) {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  }
}

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Stops a process (and, for a group leader, its group): SIGTERM, then SIGKILL after the grace period.
 * Resolves once it is gone; a process that is already gone is fine.
 */
export async function stopProcess(
  pid: number,
  options: { graceMs?: number; group?: boolean; signal?: NodeJS.Signals } = {},
): Promise<void> {
  const group = options.group ?? true;
  if (!isRunning(pid)) return;
  signal(pid, options.signal ?? 'SIGTERM', group);
  try {
    await waitUntil(() => !isRunning(pid), options.graceMs ?? 5000, `process ${pid} to stop`, 50);
  } catch {
    signal(pid, 'SIGKILL', group);
    await waitUntil(() => !isRunning(pid), 5000, `process ${pid} to die`, 50);
  }
}

/** Kills at once, with no chance to clean up: what losing a machine looks like to its peers. */
export async function killProcess(pid: number, options: { group?: boolean } = {}): Promise<void> {
  await stopProcess(pid, { ...options, signal: 'SIGKILL', graceMs: 5000 });
}
