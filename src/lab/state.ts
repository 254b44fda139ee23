import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TsigKey } from './bind.js';
import type { FeedUrls } from './feeds.js';

/** A process the lab started, with a fragment of its command line to recognise it (pids get reused). */
export interface ProcessRef {
  pid: number;
  match: string;
}

export interface LabAppState {
  process: ProcessRef;
  host: string;
  port: number;
  url: string;
  release: string;
  logFile: string;
}

export interface PostgresSite {
  dataDir: string;
  port: number;
  binDir?: string;
  /** The server's major version (13-17): what its roles may do depends on it. */
  major?: number;
}

/** Everything `phoenix lab down` and `status` need, written after each component starts. */
export interface LabState {
  version: 1;
  dir: string;
  createdAt: string;
  zone: string;
  primaryRegion: string;
  drRegion: string;
  /** Both sites' apps listen on this port, each on its own loopback address, so DNS alone moves clients. */
  appHost: { primary: string; dr: string };
  appPort?: number;
  postgres?: {
    binDir: string;
    /** logical: the DR database is a subscriber (RDS → Azure); physical: a streaming standby. */
    replication?: 'logical' | 'physical';
    /** Each site's own server (binDir and major: its PostgreSQL's, when not the lab's default). */
    primary?: PostgresSite;
    standby?: PostgresSite;
  };
  s3?: {
    endpoint: string;
    bucket: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    process: ProcessRef;
  };
  azurite?: { blobEndpoint: string; container: string; connectionString: string; process: ProcessRef };
  dns?: { host: '127.0.0.1'; port: number; zone: string; tsig: TsigKey; process: ProcessRef };
  /** The clients' caching resolver (unbound) in front of `dns`: answers kept for their TTL. */
  resolver?: { port: number; process: ProcessRef };
  sync?: { process: ProcessRef; logFile: string };
  apps?: { primary?: LabAppState; dr?: LabAppState };
  feeds?: { urls?: FeedUrls; process: ProcessRef };
  /** The configuration the lab wrote for the controller (`phoenix run --config`), with the dashboard on. */
  configFile?: string;
  /** Where that controller serves its dashboard. */
  dashboardPort?: number;
  /** The fault `phoenix lab fault` put in place, and the processes it froze (thawed by `heal`). */
  fault?: { name: string; frozen: number[]; databaseStopped?: boolean };
}

export const STATE_FILE = 'lab.json';

export function readLabState(dir: string): LabState | undefined {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function writeLabState(state: LabState): void {
  mkdirSync(state.dir, { recursive: true });
  const file = join(state.dir, STATE_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** True when the pid is alive and still the process the lab started. */
export function isOurs(ref: ProcessRef | undefined): boolean {
  if (!ref) return false;
  try {
    const cmdline = readFileSync(`/proc/${ref.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return cmdline.includes(ref.match);
  } catch {
    return false;
  }
}
