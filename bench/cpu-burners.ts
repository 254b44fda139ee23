// CPU load a benchmark makes itself, so that "under load" is a condition it can repeat rather than whatever
// else the machine runs: `count` child processes that each spin one core until stopped. Each is stopped by
// its PID, at the end and on SIGINT/SIGTERM/SIGHUP, never by name (others run the same node binary).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuBurners {
  readonly pids: number[];
  /** Stops every burner by PID and waits until each has exited. */
  stop(): Promise<void>;
}

// A tight loop that yields nothing: one busy core per process, no I/O, no memory growth.
const SPIN = 'for (;;) {}';

export function startCpuBurners(count: number): CpuBurners {
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) children.push(spawn(process.execPath, ['-e', SPIN], { stdio: 'ignore' }));
  const exited = children.map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      }),
  );
  const kill = () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // A signal to the bench stops the burners before it exits; the handlers then pass the signal on.
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    removeHandlers();
    process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const removeHandlers = () => {
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', kill);
  };
  for (const s of signals) process.once(s, onSignal);
  process.once('exit', kill);
  return {
    pids: children.map((c) => c.pid!).filter((pid) => pid !== undefined),
    async stop() {
      kill();
      removeHandlers();
      await Promise.all(exited);
    },
  };
}

/** The 1, 5 and 15 minute load averages (/proc/loadavg); null where the system has none. */
export function loadAverage(): [number, number, number] | null {
  try {
    const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
    return [one, five, fifteen];
  } catch {
    return null;
  }
}
