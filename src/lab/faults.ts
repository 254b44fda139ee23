import { join } from 'node:path';
import { ChangeStore } from '../context/changes.js';
import { setFeedState } from './feeds.js';
import { startLabApp } from './lab.js';
import { clusterHandle, restartCluster } from './postgres.js';
import { isRunning } from './process.js';
import { writeLabState, type LabState } from './state.js';

/**
 * Faults a newcomer injects into a running lab (`phoenix lab fault`) while a controller watches it, and
 * clears again with `heal`. Unlike a drill's faults they are reversible: the primary database is shut
 * down and its app and object store frozen (SIGSTOP), not killed, so `heal` brings them back as they were.
 */
export const LAB_FAULTS = ['regional-outage', 'bad-deploy', 'zone-loss', 'heal'] as const;
export type LabFault = (typeof LAB_FAULTS)[number];

/** The primary site's app and object store, frozen by the regional outage. */
function primaryProcesses(state: LabState): number[] {
  return [state.apps!.primary!.process.pid, state.s3!.process.pid].filter(isRunning);
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* exited meanwhile */
    }
  }
}

async function awsHealth(state: LabState, description: string | undefined): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await setFeedState(state.feeds!.urls!.awsHealth, {
    events: description
      ? [
          {
            service: 'EC2',
            region: state.primaryRegion,
            eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
            eventTypeCategory: 'issue',
            statusCode: 'open',
            startTime: now,
            lastUpdatedTime: now,
            description,
          },
        ]
      : [],
  });
}

async function recordDeploy(state: LabState, release: string): Promise<void> {
  const changes = ChangeStore.open(join(state.dir, 'phoenix.db'));
  try {
    await changes.record({
      at: Date.now() / 1000,
      kind: 'deploy',
      service: 'app',
      description: `app release ${release} rolled out to the primary site`,
      source: 'lab fault',
    });
  } finally {
    await changes.close();
  }
}

const INJECT: Record<Exclude<LabFault, 'heal'>, (state: LabState) => Promise<string>> = {
  async 'regional-outage'(state) {
    // The database refuses connections, as a lost region's does (a fast shutdown: heal starts it again);
    // the app and S3 stop answering.
    const pg = state.postgres!.primary!;
    await clusterHandle(pg.dataDir, pg.port, pg.binDir ?? state.postgres!.binDir).stop();
    const frozen = primaryProcesses(state);
    signal(frozen, 'SIGSTOP');
    state.fault = { name: 'regional-outage', frozen, databaseStopped: true };
    await awsHealth(
      state,
      `We are investigating connectivity issues and increased API error rates for EC2 instances in the ${state.primaryRegion.toUpperCase()} Region.`,
    );
    await setFeedState(state.feeds!.urls!.ec2, { mode: 'error' });
    return `the primary site is down (PostgreSQL stopped, app and S3 frozen) and AWS Health reports an EC2 issue in ${state.primaryRegion}`;
  },
  async 'bad-deploy'(state) {
    await recordDeploy(state, 'broken');
    state.apps!.primary = await startLabApp(state, 'primary', 'broken');
    state.fault = { name: 'bad-deploy', frozen: [] };
    return 'release "broken" runs on the primary app (our own bug; the infrastructure is healthy)';
  },
  async 'zone-loss'(state) {
    state.fault = { name: 'zone-loss', frozen: [] };
    await awsHealth(
      state,
      `We are investigating increased error rates and latencies for EC2 instances in a single Availability Zone (use1-az2) in the ${state.primaryRegion.toUpperCase()} Region. Other Availability Zones are not affected.`,
    );
    return 'AWS Health reports an EC2 issue in one Availability Zone (use1-az2); every lab process keeps running';
  },
};

/** The provider feeds as in a healthy region: AWS Health reports nothing open, the EC2 API answers. */
export async function quietFeeds(state: LabState): Promise<void> {
  await awsHealth(state, undefined);
  await setFeedState(state.feeds!.urls!.ec2, { mode: 'normal' });
}

/** Clears whatever fault is in place: thaws the primary site, restores release v1, quiets the feeds. */
async function heal(state: LabState): Promise<string> {
  const frozen = state.fault?.frozen ?? [];
  signal(frozen, 'SIGCONT');
  if (state.fault?.databaseStopped) {
    const pg = state.postgres!.primary!;
    await restartCluster(pg.dataDir, pg.port, pg.binDir ?? state.postgres!.binDir);
  }
  if (state.apps?.primary && state.apps.primary.release !== 'v1') {
    await recordDeploy(state, 'v1');
    state.apps.primary = await startLabApp(state, 'primary', 'v1');
  }
  await quietFeeds(state);
  const was = state.fault?.name;
  state.fault = undefined;
  return was
    ? `healed ${was}${frozen.length ? ` (${frozen.length} processes thawed)` : ''}`
    : 'no fault was in place; feeds reset';
}

/** Injects (or with `heal`, clears) a fault in the running lab; returns what it did, in one line. */
export async function labFault(state: LabState, fault: LabFault): Promise<string> {
  if (fault !== 'heal' && state.fault)
    throw new Error(`${state.fault.name} is in place; run \`phoenix lab fault heal\` first`);
  const done = fault === 'heal' ? await heal(state) : await INJECT[fault](state);
  writeLabState(state);
  return done;
}
