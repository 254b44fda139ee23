import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from './ports.js';
import { isRunning, spawnDaemon, stopProcess, waitUntil } from './process.js';

export interface DnsRecord {
  /** Relative to the zone ('app'), or '@' for the apex. */
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  value: string;
  ttl?: number;
}

export interface TsigKey {
  name: string;
  algorithm: 'hmac-sha256';
  /** base64 */
  secret: string;
}

export interface BindServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly zone: string;
  readonly tsig: TsigKey;
  readonly pid: number;
  stop(): Promise<void>;
}

const NAMED_CANDIDATES = ['/usr/sbin/named', '/usr/local/sbin/named'];

export function findNamed(): string {
  const found = NAMED_CANDIDATES.find((path) => existsSync(path));
  if (!found)
    throw new Error('BIND 9 (named) is not installed; install it with: apt-get install bind9 bind9-dnsutils');
  return found;
}

function recordLine(record: DnsRecord): string {
  const value = record.type === 'TXT' ? JSON.stringify(record.value) : record.value;
  return `${record.name}\t${record.ttl ?? 5}\tIN\t${record.type}\t${value}`;
}

/** A handle on a running named by pid (the lab's `down` rebuilds one from its state file). */
export function bindHandle(pid: number, port: number, zone: string, tsig: TsigKey): BindServer {
  return { host: '127.0.0.1', port, zone, tsig, pid, stop: () => stopProcess(pid, { graceMs: 5000 }) };
}

/** The zone file: SOA, NS and the records asked for. */
function writeZoneFile(zoneFile: string, zone: string, records: DnsRecord[]): void {
  writeFileSync(
    zoneFile,
    [
      `$ORIGIN ${zone}.`,
      '$TTL 5',
      `@\tIN\tSOA\tns.${zone}. hostmaster.${zone}. ( 1 60 10 600 5 )`,
      `@\tIN\tNS\tns.${zone}.`,
      'ns\tIN\tA\t127.0.0.1',
      ...records.map(recordLine),
      '',
    ].join('\n'),
  );
}

/** One more zone the server is authoritative for, beside the lab's own. */
export interface BindZone {
  zone: string;
  records: DnsRecord[];
}

/**
 * AWS Health's global name as AWS serves it: a CNAME to the active region's endpoint (us-east-1 until
 * Health fails over to us-east-2). Served by the lab's BIND so Health's client finds its region through
 * DNS, as it does in production.
 */
export const AWS_HEALTH_ZONE: BindZone = {
  zone: 'health.amazonaws.com',
  records: [{ name: 'global', type: 'CNAME', value: 'health.us-east-1.amazonaws.com.' }],
};

/** named.conf: authoritative only, on loopback `port`, every zone updatable with the TSIG key. */
function namedConf(
  baseDir: string,
  port: number,
  zones: Array<{ zone: string; file: string }>,
  tsig: TsigKey,
): string {
  return `options {
  directory "${baseDir}";
  pid-file "${join(baseDir, 'named.pid')}";
  session-keyfile "${join(baseDir, 'session.key')}";
  managed-keys-directory "${baseDir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  allow-query { 127.0.0.1; };
  allow-transfer { none; };
  dnssec-validation no;
  notify no;
};
controls { };
key "${tsig.name}" {
  algorithm ${tsig.algorithm};
  secret "${tsig.secret}";
};
${zones
  .map(
    ({ zone, file }) => `zone "${zone}" {
  type primary;
  file "${file}";
  allow-update { key "${tsig.name}"; };
};
`,
  )
  .join('')}`;
}

/** Waits until named answers every zone's SOA; throws if it exits or does not within 20 s. */
async function untilServing(pid: number, port: number, zones: string[]): Promise<void> {
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  await waitUntil(
    async () => {
      if (!isRunning(pid)) throw new Error('named exited');
      try {
        await Promise.all(zones.map((zone) => resolver.resolveSoa(zone)));
        return true;
      } catch {
        return false;
      }
    },
    20_000,
    `named to serve ${zones.join(', ')}`,
    100,
  );
}

/**
 * BIND 9 in the foreground (`named -g`) on a free loopback port, authoritative for one zone (and the
 * further `zones`) that accepts RFC 2136 updates signed with a fresh hmac-sha256 TSIG key. Record TTLs
 * default to 5 s so a DNS switch reaches clients quickly. Without a fixed `port`, a port taken between the choice and named's bind is
 * given up for another, up to three times.
 */
export async function startBind(options: {
  baseDir: string;
  zone: string;
  records: DnsRecord[];
  /** Further zones, updatable with the same key (the lab's: AWS Health's global name). */
  zones?: BindZone[];
  port?: number;
}): Promise<BindServer> {
  const named = findNamed();
  const baseDir = resolve(options.baseDir);
  mkdirSync(baseDir, { recursive: true });
  const zone = options.zone.replace(/\.$/, '');
  const tsig: TsigKey = {
    name: 'phoenix-lab-key',
    algorithm: 'hmac-sha256',
    secret: randomBytes(32).toString('base64'),
  };
  const zones = [{ zone, records: options.records }, ...(options.zones ?? [])].map((z) => {
    const name = z.zone.replace(/\.$/, '');
    const file = join(baseDir, `${name}.zone`);
    writeZoneFile(file, name, z.records);
    return { zone: name, file };
  });
  const confFile = join(baseDir, 'named.conf');
  const logFile = join(baseDir, 'named.log');
  let lastError = '';
  for (let attempt = 0; attempt < (options.port ? 1 : 3); attempt++) {
    const port = options.port ?? (await freePort());
    writeFileSync(confFile, namedConf(baseDir, port, zones, tsig));
    // -g: foreground, log to stderr; as root without -u, named keeps root, which the lab's files need.
    const daemon = spawnDaemon(named, ['-g', '-c', confFile, '-n', '1'], { logFile, cwd: baseDir });
    const server = bindHandle(daemon.pid, port, zone, tsig);
    try {
      await untilServing(
        daemon.pid,
        port,
        zones.map((z) => z.zone),
      );
      return server;
    } catch (error) {
      await server.stop().catch(() => undefined);
      lastError = `${(error as Error).message}: ${readFileSync(logFile, 'utf8').trim().split('\n').slice(-4).join(' | ')}`;
    }
  }
  throw new Error(`BIND did not start: ${lastError}`);
}
