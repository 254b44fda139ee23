import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { isRunning, processesUsing, stopProcess } from '../src/lab/index.js';

/**
 * What a benchmark started, stopped however the benchmark ends: at its end, on SIGINT or SIGTERM (Ctrl-C,
 * a CI timeout, `kill`), or on an exception. The lab's servers run detached in process groups of their own
 * (so that `phoenix lab up` may exit), so an interrupted benchmark used to leave BIND, Azurite and
 * PostgreSQL running under its temporary directory.
 *
 * A benchmark registers each thing it starts with `add` (a server's own stop: pg_ctl, the daemon's
 * SIGTERM), then at the end, and on a signal or an exception, those run newest first; then every process
 * still running that it started is stopped by PID: its descendants, and whatever names or runs in its
 * directory (a daemon still starting when the signal came, a step's shell whose controller was killed).
 * The directory is removed unless `--keep`. On a signal the benchmark exits 128 + the signal's number.
 */
export class BenchCleanup {
  private readonly stops: Array<{ what: string; stop: () => Promise<unknown> }> = [];
  private closing?: Promise<void>;

  private constructor(
    private readonly name: string,
    readonly dir: string | undefined,
    private readonly keep: boolean,
  ) {}

  /**
   * Installs the handlers: call it before the benchmark starts anything. `dir` is its temporary
   * directory (removed at the end unless `keep`).
   */
  static install(name: string, options: { dir?: string; keep?: boolean } = {}): BenchCleanup {
    const cleanup = new BenchCleanup(name, options.dir, options.keep ?? false);
    // A handler that exits at once (the multi-host lab's own, on a signal) still takes the directory.
    process.on('exit', () => {
      if (cleanup.dir && !cleanup.keep && existsSync(cleanup.dir))
        rmSync(cleanup.dir, { recursive: true, force: true });
    });
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const)
      process.on(signal, () => {
        if (cleanup.closing) return;
        process.stderr.write(`${name}: ${signal}: stopping what the benchmark started\n`);
        void cleanup.close().finally(() => process.exit(code));
      });
    // A rejected top-level await arrives here too (origin unhandledRejection).
    process.on('uncaughtException', (error) => {
      if (cleanup.closing) return;
      process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      void cleanup.close().finally(() => process.exit(1));
    });
    return cleanup;
  }

  /** Registers something started, with its own stop; stopping twice must be harmless. */
  add(what: string, stop: () => Promise<unknown>): void {
    this.stops.push({ what, stop });
  }

  /** Registers an HTTP server of the benchmark's own; its stop drops open connections (controllers' keep-alive). */
  addServer(what: string, server: Server): void {
    this.add(
      what,
      () =>
        new Promise((r) => {
          server.closeAllConnections();
          server.close(r);
        }),
    );
  }

  /**
   * Stops this process's children (SIGTERM, SIGKILL after `graceMs`), all at once: for a benchmark whose
   * child (a `phoenix drill`) tears its own servers down on SIGTERM, given the time to.
   */
  async stopChildren(graceMs: number): Promise<void> {
    await Promise.all(
      children(process.pid).map((pid) => stopProcess(pid, { group: false, graceMs }).catch(() => undefined)),
    );
  }

  /** Stops everything the benchmark started and removes its directory (unless --keep). Runs once. */
  close(): Promise<void> {
    this.closing ??= this.stopAll();
    return this.closing;
  }

  private async stopAll(): Promise<void> {
    for (const { what, stop } of [...this.stops].reverse())
      await stop().catch((error: Error) =>
        process.stderr.write(`${this.name}: could not stop ${what}: ${error.message}\n`),
      );
    // Whatever is left, by PID: a few passes, as a process stopped may have started another meanwhile.
    for (let pass = 0; pass < 5; pass++) {
      const left = this.leftovers();
      if (left.length === 0) break;
      await Promise.all(
        left.map((pid) => stopProcess(pid, { group: false, graceMs: 3000 }).catch(() => undefined)),
      );
    }
    const still = this.leftovers();
    if (still.length)
      process.stderr.write(`${this.name}: processes still running: ${still.join(', ')}; stop them by PID\n`);
    if (!this.dir || !existsSync(this.dir)) return;
    if (this.keep) process.stderr.write(`${this.name}: kept ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /** This process's descendants, and what names or runs in the benchmark's directory. */
  private leftovers(): number[] {
    const pids = new Set(descendants(process.pid));
    if (this.dir) for (const p of processesUsing(this.dir)) pids.add(p.pid);
    pids.delete(process.pid);
    return [...pids].filter(isRunning);
  }
}

/** The children of `pid`, from /proc (those of each of its threads). */
function children(pid: number): number[] {
  const found: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`))
      found.push(
        ...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number),
      );
  } catch {
    /* gone */
  }
  return found;
}

/** Every process below `pid`. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const child of children(parent))
      if (!found.includes(child)) {
        found.push(child);
        walk(child);
      }
  };
  walk(pid);
  return found;
}
