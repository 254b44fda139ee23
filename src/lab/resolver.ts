import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { join, resolve } from 'node:path';
import { freePort } from './ports.js';
import { isRunning, spawnDaemon, stopProcess, waitUntil } from './process.js';

/**
 * The lab clients' caching resolver: Debian's `unbound` on a loopback port of its own, sending the
 * lab zone to the lab's BIND (a stub zone) and keeping each answer for its TTL, as the resolvers
 * between real users and an authoritative server do. A client that asks it sees a DNS switch up to a
 * TTL after BIND has it: what the drill's `rto_s` measures, beside `rto_authoritative_s` (BIND asked).
 */

const UNBOUND_CANDIDATES = ['/usr/sbin/unbound', '/usr/local/sbin/unbound'];

export function findUnbound(): string {
  const found = UNBOUND_CANDIDATES.find((path) => existsSync(path));
  if (!found)
    throw new Error(
      'unbound is not installed; install it with: apt-get install unbound (or run npm run setup)',
    );
  return found;
}

export interface CachingResolver {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** unbound.conf for one stub zone; no DNSSEC (the lab zone is unsigned), no root, no syslog, no chroot. */
function unboundConf(dir: string, port: number, zone: string, authoritativePort: number): string {
  return [
    'server:',
    '  interface: 127.0.0.1',
    `  port: ${port}`,
    '  do-ip6: no',
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  num-threads: 1',
    '  access-control: 127.0.0.0/8 allow',
    // The stub server is on loopback, which unbound does not ask unless told to.
    '  do-not-query-localhost: no',
    '  module-config: "iterator"',
    // Answers are kept for their TTL, never longer (no stale answers, no prefetch before expiry).
    '  serve-expired: no',
    '  prefetch: no',
    '  cache-min-ttl: 0',
    // .test is one of unbound's default blocked zones (RFC 6761); the lab's zone lives under it.
    `  local-zone: "${zone.split('.').at(-1)}." nodefault`,
    `  domain-insecure: "${zone}"`,
    'remote-control:',
    '  control-enable: no',
    'stub-zone:',
    `  name: "${zone}"`,
    `  stub-addr: 127.0.0.1@${authoritativePort}`,
    '',
  ].join('\n');
}

/** Starts unbound for `zone` in front of the authoritative server on `authoritativePort`; waits until it answers `probe`. */
export async function startCachingResolver(options: {
  baseDir: string;
  zone: string;
  authoritativePort: number;
  probe: string;
}): Promise<CachingResolver> {
  const unbound = findUnbound();
  const dir = resolve(options.baseDir);
  mkdirSync(dir, { recursive: true });
  const confFile = join(dir, 'unbound.conf');
  const logFile = join(dir, 'unbound.log');
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(confFile, unboundConf(dir, port, options.zone, options.authoritativePort));
    const daemon = spawnDaemon(unbound, ['-d', '-c', confFile], { logFile, cwd: dir });
    const server = { port, pid: daemon.pid, stop: () => stopProcess(daemon.pid) };
    try {
      await untilAnswering(daemon.pid, port, options.probe);
      return server;
    } catch (error) {
      await server.stop().catch(() => undefined);
      const log = existsSync(logFile)
        ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-4).join(' | ')
        : '';
      lastError = `${(error as Error).message}: ${log}`;
    }
  }
  throw new Error(`unbound did not start: ${lastError}`);
}

async function untilAnswering(pid: number, port: number, name: string): Promise<void> {
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  await waitUntil(
    async () => {
      if (!isRunning(pid)) throw new Error('unbound exited');
      return resolver.resolve4(name).then(
        () => true,
        () => false,
      );
    },
    20_000,
    `unbound to answer ${name}`,
    100,
  );
}
