import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

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

function ancestors(): Set<number> {
  const pids = new Set<number>([process.pid]);
  let pid = process.ppid;
  while (pid > 1 && !pids.has(pid)) {
    pids.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return pids;
}

export interface LabProcess {
  pid: number;
  /** The program (node, postgres, named, …). */
  program: string;
  command: string;
}

/**
 * Processes that belong to a lab directory: their command line names it, or (PostgreSQL's backends,
 * which rename themselves) they run inside it. This process and its parents (`phoenix lab down --dir …`)
 * are not counted.
 */
export function processesUsing(dir: string): LabProcess[] {
  const skip = ancestors();
  const found: LabProcess[] = [];
  // The directory itself or a path inside it, not a sibling whose name merely starts the same.
  const names = new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[/\\s])`);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || skip.has(pid) || !isRunning(pid)) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        /* gone, or not ours to read */
      }
      const inside = cwd === dir || cwd.startsWith(`${dir}/`);
      if (names.test(command) || inside) {
        let program = '';
        try {
          program = basename(readlinkSync(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, '');
        } catch {
          program = command.split(' ')[0] ?? '';
        }
        found.push({ pid, program, command });
      }
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** The last lines of a daemon's log on one line, for the error that says why it did not start ('' if unreadable). */
export function lastLogLines(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}
