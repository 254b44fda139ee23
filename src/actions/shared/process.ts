import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { AsyncLocalStorage } from 'node:async_hooks';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { StepError } from '../types.js';

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

const KEEP = 64 * 1024;

/** Keeps the tail of a long output: the end of a plan or an error is what matters. */
function keepEnd(text: string): string {
  return text.length > KEEP ? '…' + text.slice(text.length - KEEP) : text;
}

/**
 * Who wants to know about the process groups a step starts. The runbook engine runs each
 * attempt inside `trackProcessGroups`, so every adapter that spawns through `runProcess`
 * (command, helm, terraform, nsupdate, pg_dump...) has its group journaled without
 * knowing about the journal.
 */
export interface ProcessGroupTracker {
  /** Must be durable when it returns: the program starts only then. */
  started(pgid: number): void | Promise<void>;
  ended(pgid: number): void | Promise<void>;
}

const trackers = new AsyncLocalStorage<ProcessGroupTracker>();

export function trackProcessGroups<T>(tracker: ProcessGroupTracker, fn: () => Promise<T>): Promise<T> {
  return trackers.run(tracker, fn);
}

/**
 * Whether any process of the group still runs. A zombie does not count: a member whose
 * parent cannot reap it (a paused controller) has stopped running all the same. Linux
 * tells zombies apart through /proc; elsewhere any member counts.
 */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  return pids.some((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z';
    } catch {
      return false;
    }
  });
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Kills a whole process group (SIGKILL: a survivor of an interrupted attempt gets no say)
 * and waits until no member is left, so the next attempt never runs beside it.
 */
export async function killProcessGroup(pgid: number, timeoutMs = 10_000): Promise<boolean> {
  signalGroup(pgid, 'SIGKILL');
  const until = Date.now() + timeoutMs;
  while (processGroupAlive(pgid)) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** Seconds between SIGTERM and SIGKILL when a step is aborted or times out. */
const TERM_GRACE_MS = 5_000;

/** Finds an executable on PATH (or checks an explicit path). */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates =
    isAbsolute(name) || name.includes('/')
      ? [name]
      : (env.PATH ?? '').split(delimiter).map((d) => join(d, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  return undefined;
}

interface RunOptions {
  signal?: AbortSignal;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  allowFailure?: boolean;
}

/**
 * A tracked program starts behind a gate: `sh` waits for a line on fd 3 and only then
 * execs the program, so the program never runs before its process group is journaled.
 * If the controller dies first, the pipe closes, `read` fails and nothing runs. The pipe
 * stays open while the program runs: when the controller dies (SIGKILL, OOM), a reader
 * left in the group sees it close and kills the whole group, as a watchdog would.
 */
const GATE = 'read -r go <&3 || exit 126; { read -r _ <&3; kill -KILL 0; } & exec 3<&-; exec "$@"';

function spawnGroup(command: string, args: string[], options: RunOptions, gated: boolean): ChildProcess {
  const [file, argv]: [string, string[]] = gated
    ? ['/bin/sh', ['-c', GATE, 'phoenix-step', command, ...args]]
    : [command, args];
  return spawn(file, argv, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: gated ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
    // Its own process group: it and everything it forks can be found and killed as one.
    detached: true,
  });
}

/** Settles with the program's result once it exits and its pipes close. */
function outcome(
  child: ChildProcess,
  command: string,
  args: string[],
  options: RunOptions,
): Promise<ProcessResult> {
  const pgid = child.pid;
  return new Promise((resolve, reject) => {
    let graceTimer: NodeJS.Timeout | undefined;
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout = keepEnd(stdout + d)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = keepEnd(stderr + d)));
    const onAbort = () => {
      if (pgid === undefined) return;
      signalGroup(pgid, 'SIGTERM');
      graceTimer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), TERM_GRACE_MS);
      graceTimer.unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(
        new StepError(
          error.code === 'ENOENT'
            ? `${command}: executable not found; install it or put it on PATH`
            : `${command}: ${error.message}`,
        ),
      );
    });
    // Whatever the program left behind in its group ends with it (and releases its pipes).
    child.on('exit', () => {
      if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
    });
    child.on('close', (code, signalName) => {
      options.signal?.removeEventListener('abort', onAbort);
      clearTimeout(graceTimer);
      if (options.signal?.aborted) {
        return reject(new StepError(`${command} stopped: ${String(options.signal.reason ?? 'aborted')}`));
      }
      const result = { code: code ?? 128, stdout, stderr };
      if ((code !== 0 || signalName) && !options.allowFailure) {
        const last = (stderr.trim() || stdout.trim()).split('\n').slice(-3).join(' | ');
        return reject(
          new StepError(
            `${command} ${args[0] ?? ''} exited with ${code ?? signalName}: ${last || '(no output)'}`,
          ),
        );
      }
      resolve(result);
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}

/**
 * Runs a program to completion, capturing its output. It runs in its own process group:
 * on abort (timeout or `phoenix abort`) the group gets SIGTERM then SIGKILL, and when the
 * program exits, whatever it left running in its group is killed too. Inside a runbook
 * step, the group is journaled (through the step's tracker) before the program starts.
 * A non-zero exit is a StepError naming the program and its last words.
 */
export async function runProcess(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  if (options.signal?.aborted)
    throw new StepError(`${command} not started: ${String(options.signal.reason ?? 'aborted')}`);
  const tracker = trackers.getStore();
  const env = options.env ?? process.env;
  const lookup =
    isAbsolute(command) || !command.includes('/') ? command : resolve(options.cwd ?? '.', command);
  if (tracker && !findExecutable(lookup, env))
    throw new StepError(`${command}: executable not found; install it or put it on PATH`);
  const child = spawnGroup(command, args, options, Boolean(tracker));
  const result = outcome(child, command, args, options);
  const pgid = child.pid;
  if (!tracker || pgid === undefined) return result;
  try {
    await tracker.started(pgid);
  } catch (error) {
    signalGroup(pgid, 'SIGKILL');
    await result.catch(() => undefined);
    throw new StepError(
      `${command} not started: its process group could not be journaled: ${(error as Error).message}`,
    );
  }
  // Written, not ended: the open pipe is what tells the group its controller lives.
  (child.stdio[3] as Writable).write('go\n');
  try {
    return await result;
  } finally {
    await tracker.ended(pgid);
  }
}
