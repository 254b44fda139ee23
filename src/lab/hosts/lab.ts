import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { waitUntil } from '../process.js';
import { Fabric, type HostProcess, type HostSpec } from './net.js';
import { alreadyDoneCommand, effectCommand, type Effect } from './site.js';
import { storeHost, type StandbyMode, type StoreHost } from './store.js';

/**
 * The reference deployment (README, "Reference deployment"), one network namespace per host:
 * two controllers outside the primary region and one in the DR cloud, the store in the DR cloud,
 * the primary and DR sites, and two `phoenix agent` vantage points in other failure domains.
 */
export const LAB_HOSTS: HostSpec[] = [
  { name: 'ctl-usw2', region: 'aws-us-west-2' },
  { name: 'ctl-euw1', region: 'aws-eu-west-1' },
  { name: 'ctl-azure', region: 'azure-westeurope' },
  { name: 'store', region: 'azure-westeurope' },
  { name: 'store-standby', region: 'azure-westeurope (another zone)' },
  { name: 'primary', region: 'aws-us-east-1' },
  { name: 'dr', region: 'azure-westeurope' },
  { name: 'agent-gcp', region: 'gcp-europe-west4' },
  { name: 'agent-apse2', region: 'aws-ap-southeast-2' },
];
export const CONTROLLER_HOSTS = ['ctl-usw2', 'ctl-euw1', 'ctl-azure'];
const AGENT_HOSTS = ['agent-gcp', 'agent-apse2'];
const SITE_PORT = 8080;
const AGENT_PORT = 9400;
const AGENT_TOKEN = 'multihost-lab-agent-token-0123456789';
/**
 * The one signal the vantage points measure: the primary's endpoint, seen from three places. One
 * signal weighted to the DR level alone: with several, a cycle that sees some of them fail first
 * scores a region failover, whose cooldown then holds the DR failover back for minutes.
 */
const SIGNALS = { external_uptime: '/health' } as const;
const SCORING = {
  signals: { external_uptime: { range: [0, 11], ok: 0, degraded: 0, error: 11, unknown: 0 } },
};

export interface LabOptions {
  /** The built CLI (dist/cli/main.js); the sites run from dist/lab/hosts/site.js beside it. */
  cli: string;
  dir: string;
  ttl_s: number;
  interval_s: number;
  /** Seconds the first attempt of the runbook's middle step (promote) takes: the window the nemesis hits. */
  promote_s: number;
  /** How the store's standby follows its primary (default synchronous), or none (one PostgreSQL). */
  standby?: StandbyMode | 'none';
}

export interface ControllerProcess extends HostProcess {
  logFile: string;
}

export interface MultiHostLab {
  fabric: Fabric;
  store: StoreHost;
  options: LabOptions;
  /** Every effect the DR site received, in arrival order. */
  effects(): Effect[];
  /** Starts the three controllers (all --standby: whichever is first leads) on a fresh store schema. */
  startControllers(schema: string, logDir: string): ControllerProcess[];
  close(): Promise<void>;
}

function runbookStep(drUrl: string, name: string, slow_s: number) {
  const script = [
    'set -e',
    alreadyDoneCommand(drUrl),
    effectCommand(drUrl, 'start'),
    slow_s > 0 ? `if [ "$PHOENIX_ATTEMPT" = 1 ]; then sleep ${slow_s}; fi` : ':',
    effectCommand(drUrl, 'done'),
  ].join('\n');
  return { name, type: 'command', retries: 2, params: { command: 'sh', args: ['-c', script] } };
}

function controllerConfig(lab: { fabric: Fabric; options: LabOptions }, schema: string): object {
  const { fabric, options } = lab;
  const primary = `http://${fabric.address('primary')}:${SITE_PORT}`;
  const dr = `http://${fabric.address('dr')}:${SITE_PORT}`;
  const agents = AGENT_HOSTS.map((h) => ({
    name: h,
    url: `http://${fabric.address(h)}:${AGENT_PORT}`,
    token: AGENT_TOKEN,
  }));
  const signals = Object.fromEntries(
    Object.entries(SIGNALS).map(([name, path]) => [
      name,
      { type: 'external_uptime', url: `${primary}${path}`, agents, quorum: 2 },
    ]),
  );
  return {
    interval: options.interval_s,
    decision: { analyzer: 'threshold' },
    scoring: SCORING,
    store: {
      driver: 'postgres',
      url: '${PHX_STORE_URL}',
      schema,
      path: join(options.dir, 'unused.db'),
      lease_ttl: `${options.ttl_s}s`,
    },
    server: { enabled: false },
    probes: { timeout: '3s', signals },
    runbooks: {
      dr_failover: {
        stages: [
          {
            name: 'database',
            steps: [runbookStep(dr, 'fence-old', 0), runbookStep(dr, 'promote', options.promote_s)],
          },
          { name: 'dns', steps: [runbookStep(dr, 'switch-dns', 0)] },
        ],
      },
    },
  };
}

/** Each agent measures the primary from its own host alone (quorum 1 of itself), inside the controllers' deadline. */
function agentConfig(fabric: Fabric): object {
  const primary = `http://${fabric.address('primary')}:${SITE_PORT}`;
  const signals = Object.fromEntries(
    Object.entries(SIGNALS).map(([name, path]) => [
      name,
      { type: 'external_uptime', url: `${primary}${path}`, quorum: 1 },
    ]),
  );
  return { probes: { timeout: 1.5, signals } };
}

async function reachable(fabric: Fabric, from: string, url: string): Promise<boolean> {
  return fabric.exec(from, ['curl', '-fsS', '-m', '2', url]).then(
    () => true,
    () => false,
  );
}

/** Builds the network, starts the store, both sites and both agents, and waits until each answers across the lab. */
export async function startMultiHostLab(options: LabOptions): Promise<MultiHostLab> {
  mkdirSync(options.dir, { recursive: true });
  const fabric = await Fabric.create(LAB_HOSTS);
  let store: StoreHost | undefined;
  try {
    const site = join(dirname(options.cli), '..', 'lab', 'hosts', 'site.js');
    const effectsLog = join(options.dir, 'dr-effects.jsonl');
    writeFileSync(effectsLog, '');
    for (const role of ['primary', 'dr'])
      fabric.start(
        role,
        [process.execPath, site, role, fabric.address(role), String(SITE_PORT), effectsLog],
        {
          logFile: join(options.dir, `${role}.log`),
        },
      );
    const agentFile = join(options.dir, 'agent.yaml');
    writeFileSync(agentFile, stringify(agentConfig(fabric)));
    for (const host of AGENT_HOSTS)
      fabric.start(
        host,
        [
          process.execPath,
          options.cli,
          'agent',
          '--config',
          agentFile,
          '--listen',
          `${fabric.address(host)}:${AGENT_PORT}`,
          '--name',
          host,
          '--log-format',
          'json',
        ],
        {
          logFile: join(options.dir, `${host}.log`),
          env: { ...process.env, PHOENIX_AGENT_TOKEN: AGENT_TOKEN },
        },
      );
    // initdb and the store's start while the sites and agents boot (each a Node process: seconds on a loaded machine).
    store = await storeHost(
      fabric,
      options.standby === 'none' ? ['store'] : ['store', 'store-standby'],
      join(options.dir, 'store'),
      options.standby === 'none' ? undefined : options.standby,
    );
    const storeUrl = store.url;
    for (const [from, url] of [
      ['ctl-usw2', `http://${fabric.address('primary')}:${SITE_PORT}/health`],
      ['ctl-usw2', `http://${fabric.address('dr')}:${SITE_PORT}/health`],
      ...AGENT_HOSTS.map((h) => ['ctl-usw2', `http://${fabric.address(h)}:${AGENT_PORT}/healthz`]),
    ])
      await waitUntil(() => reachable(fabric, from, url), 120_000, `${url} to answer ${from}`, 200);
    return {
      fabric,
      store,
      options,
      effects: () =>
        existsSync(effectsLog)
          ? readFileSync(effectsLog, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as Effect)
          : [],
      startControllers(schema, logDir) {
        mkdirSync(logDir, { recursive: true });
        const config = join(logDir, 'phoenix.yaml');
        writeFileSync(config, stringify(controllerConfig({ fabric, options }, schema)));
        return CONTROLLER_HOSTS.map((host) => {
          const logFile = join(logDir, `${host}.log`);
          const started = fabric.start(
            host,
            [process.execPath, options.cli, 'run', '--config', config, '--log-format', 'json', '--standby'],
            { logFile, env: { ...process.env, PHX_STORE_URL: storeUrl } },
          );
          return { ...started, logFile };
        });
      },
      async close() {
        await store!.close();
        await fabric.destroy();
      },
    };
  } catch (error) {
    await store?.close();
    await fabric.destroy();
    throw error;
  }
}
