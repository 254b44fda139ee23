import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isRunning } from '../process.js';

const execFileAsync = promisify(execFile);

/** A host of the multi-host lab: its own network namespace, hostname and address. */
export interface HostSpec {
  name: string;
  /** The failure domain it stands for ("aws-us-west-2", "azure-westeurope"). */
  region: string;
}

/**
 * Every namespace of a lab is named `phxmh-<pid of the process that made it>-…`: a namespace
 * whose maker is gone is a leftover of a crashed run, and only those are swept (see sweepLeftovers).
 */
const NS_PREFIX = 'phxmh-';

/**
 * RFC 2544's benchmarking range (198.18.0.0/15), never routed: the lab's hosts talk only to
 * each other across a bridge inside a namespace of its own, with no route out of it.
 */
const SUBNET = '198.18.0';

/**
 * `ip netns exec` bind-mounts /etc/netns/<namespace>/hosts over /etc/hosts for what it runs: each
 * lab host resolves names through its own file there, which setName rewrites in place (the same
 * inode, so the programs already running see the change at their next lookup).
 */
const NETNS_ETC = '/etc/netns';

function removeEtc(netns: string): void {
  rmSync(join(NETNS_ETC, netns), { recursive: true, force: true });
}

async function ip(...args: string[]): Promise<string> {
  try {
    return (await execFileAsync('ip', args, { timeout: 30_000 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** Applies an nftables script inside a namespace (`nft -f -` reads it from stdin). */
async function nft(netns: string, script: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`nft failed (${code}): ${stderr.trim()}\n${script}`)),
    );
    child.stdin.end(script);
  });
}

/**
 * Whether this machine can build the lab: root, iproute2, nftables, and network namespaces.
 * Returns what is missing, in words that say how to get it; undefined when all is there.
 */
export function missingNetworkSupport(): string | undefined {
  if (process.getuid?.() !== 0) return 'the multi-host lab needs root (ip netns, veth, nftables)';
  for (const [tool, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
    ['unshare', 'util-linux'],
  ]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is missing; install ${pkg} (scripts/setup.sh does)`;
    }
  }
  const probe = `${NS_PREFIX}${process.pid}-probe`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
  } catch (error) {
    return `cannot create a network namespace: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    } catch {
      // was not created
    }
  }
  return undefined;
}

/** Deletes the namespaces of labs whose maker process is gone (a crashed or killed run); never a live lab's. */
export function sweepLeftovers(): string[] {
  const swept: string[] = [];
  let names: string[] = [];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n.startsWith(NS_PREFIX));
  } catch {
    return swept;
  }
  for (const name of names) {
    const maker = Number(name.slice(NS_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(maker) || maker <= 0 || isRunning(maker)) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      removeEtc(name);
      swept.push(name);
    } catch {
      // gone meanwhile
    }
  }
  return swept;
}

/** A process started on a lab host: its pid is the program's own (signals reach it directly). */
export interface HostProcess {
  host: string;
  child: ChildProcess;
  exit: Promise<number>;
}

/**
 * The lab's network: one namespace per host, each joined by its own veth pair to a bridge
 * that lives in a namespace of its own (the fabric), so one host's link can be cut alone and
 * nftables rules on the bridge can drop traffic between two hosts in one direction only.
 * Nothing is attached to the machine's own namespace: no lab packet can leave it.
 */
export class Fabric {
  private readonly created: string[] = [];
  private readonly processes: HostProcess[] = [];
  /** The lab's names and the host each points to (setName). */
  private readonly names = new Map<string, string>();
  private readonly onExit = () => this.destroySync();
  /** What else must go when the process is interrupted (a server started outside `start`, like PostgreSQL). */
  readonly interruptCleanups: Array<() => void> = [];
  readonly hosts: HostSpec[];

  private constructor(hosts: HostSpec[]) {
    this.hosts = hosts;
  }

  /** Builds the namespaces, links and bridge; on any failure removes what it made and throws. */
  static async create(hosts: HostSpec[]): Promise<Fabric> {
    const fabric = new Fabric(hosts);
    process.once('exit', fabric.onExit);
    // Interrupted (Ctrl-C, a CI timeout), the lab still takes its namespaces and processes with it.
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => {
        fabric.destroySync();
        process.exit(130);
      });
    try {
      await fabric.build();
    } catch (error) {
      await fabric.destroy();
      throw error;
    }
    return fabric;
  }

  private get fabricNs(): string {
    return `${NS_PREFIX}${process.pid}-fabric`;
  }

  netns(host: string): string {
    this.index(host);
    return `${NS_PREFIX}${process.pid}-${host}`;
  }

  address(host: string): string {
    return `${SUBNET}.${10 + this.index(host)}`;
  }

  private index(host: string): number {
    const at = this.hosts.findIndex((h) => h.name === host);
    if (at < 0)
      throw new Error(`no host ${host} in this lab (hosts: ${this.hosts.map((h) => h.name).join(', ')})`);
    return at;
  }

  private async addNs(name: string): Promise<void> {
    await ip('netns', 'add', name);
    this.created.push(name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    mkdirSync(join(NETNS_ETC, name), { recursive: true });
    this.writeHosts(name);
  }

  private writeHosts(netns: string): void {
    const lines = [
      '127.0.0.1 localhost',
      ...[...this.names].map(([name, host]) => `${this.address(host)} ${name}`),
    ];
    writeFileSync(join(NETNS_ETC, netns, 'hosts'), lines.join('\n') + '\n');
  }

  /** Points a name at a host in every host's /etc/hosts (a DNS record moved, as a managed database's failover does). */
  setName(name: string, host: string): void {
    this.index(host);
    this.names.set(name, host);
    for (const netns of this.created) this.writeHosts(netns);
  }

  private async build(): Promise<void> {
    await this.addNs(this.fabricNs);
    await ip('-n', this.fabricNs, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', this.fabricNs, 'link', 'set', 'br0', 'up');
    for (const [i, host] of this.hosts.entries()) {
      const ns = this.netns(host.name);
      await this.addNs(ns);
      await ip(
        '-n',
        this.fabricNs,
        'link',
        'add',
        `p${i}`,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        ns,
      );
      await ip('-n', this.fabricNs, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      await ip('-n', ns, 'addr', 'add', `${this.address(host.name)}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
    }
    // The nemesis's table: bridged IPv4 between two hosts, dropped by rules added and flushed at will.
    await nft(
      this.fabricNs,
      'table bridge nemesis {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n  }\n}\n',
    );
  }

  /**
   * Starts a program on a host: in its network namespace and in a UTS namespace of its own with
   * the host's name as hostname, so the controller's holder id names its host and a follower
   * cannot tell a dead leader by its pid, as on separate machines.
   */
  start(host: string, argv: string[], options: { logFile: string; env?: NodeJS.ProcessEnv }): HostProcess {
    const fd = openSync(options.logFile, 'a');
    try {
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          this.netns(host),
          'unshare',
          '--uts',
          '--',
          'sh',
          '-c',
          'hostname "$0" && exec "$@"',
          host,
          ...argv,
        ],
        { env: options.env ?? process.env, stdio: ['ignore', fd, fd] },
      );
      child.on('error', () => undefined);
      const exit = new Promise<number>((res) =>
        child.on('exit', (code, signal) => res(code ?? (signal ? 137 : 1))),
      );
      const started = { host, child, exit };
      this.processes.push(started);
      return started;
    } finally {
      closeSync(fd);
    }
  }

  /** Runs a command on a host to completion (ip netns exec), returning its standard output. */
  async exec(host: string, argv: string[]): Promise<string> {
    try {
      return (await execFileAsync('ip', ['netns', 'exec', this.netns(host), ...argv], { timeout: 120_000 }))
        .stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(
        `${argv[0]} on ${host} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
  }

  /** Takes a host's only link down (cut) or up again: the host is cut off from every other. */
  async link(host: string, up: boolean): Promise<void> {
    await ip('-n', this.fabricNs, 'link', 'set', `p${this.index(host)}`, up ? 'up' : 'down');
  }

  /** Drops every packet from `from` to `to` on the bridge (one direction: call twice for both). */
  async drop(from: string, to: string): Promise<void> {
    await nft(
      this.fabricNs,
      `add rule bridge nemesis forward ip saddr ${this.address(from)} ip daddr ${this.address(to)} drop\n`,
    );
  }

  /** Ends every partition: every drop rule gone, every link up but those of `keepDown` (an outage going on). */
  async heal(keepDown: string[] = []): Promise<void> {
    await nft(this.fabricNs, 'flush chain bridge nemesis forward\n');
    for (const host of this.hosts) if (!keepDown.includes(host.name)) await this.link(host.name, true);
  }

  /** Kills what was started on the hosts (by pid) and deletes every namespace this lab made. */
  async destroy(): Promise<void> {
    process.removeListener('exit', this.onExit);
    // What a failed start left running (a store node started before the lab gave up).
    for (const cleanup of this.interruptCleanups.splice(0))
      try {
        cleanup();
      } catch {
        // already stopped
      }
    await Promise.all(
      this.processes.map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        try {
          process.kill(p.child.pid!, 'SIGCONT');
          process.kill(p.child.pid!, 'SIGKILL');
        } catch {
          return;
        }
        await p.exit;
      }),
    );
    for (const name of this.created.splice(0).reverse()) {
      await ip('netns', 'del', name).catch(() => undefined);
      removeEtc(name);
    }
  }

  /** The same, synchronously: for a process that exits without awaiting destroy(). */
  private destroySync(): void {
    for (const cleanup of this.interruptCleanups)
      try {
        cleanup();
      } catch {
        // best effort on the way out
      }
    for (const p of this.processes)
      try {
        process.kill(p.child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    for (const name of this.created.splice(0).reverse())
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
        removeEtc(name);
      } catch {
        // gone
      }
  }
}
