/*
 * Stand-in for AWS's own DNS answers in the lab (not an API): Health's global name moving to the passive
 * region, and a Route 53 failover record pair whose answer follows its ARC routing controls (Route 53's data
 * plane). It writes those answers to the lab's BIND through the product's dns adapter (RFC 2136 + TSIG).
 * Refuses nothing: it only answers as AWS's DNS would. Source: the comments below and
 * drill.control-plane-down.test.ts.
 * Does not model: health-check evaluation intervals or thresholds (a control's change is applied at once),
 * Route 53's propagation time, any other routing policy.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dnsAdapter } from '../../actions/dns/dns.js';
import type { StepContext } from '../../actions/types.js';
import { transientState } from '../../actions/shared/transient-state.js';
import { AWS_HEALTH_ZONE } from '../../lab/bind.js';
import { LAB_DNS_TTL_S } from '../../lab/names.js';
import type { LabState } from '../../lab/state.js';
import type { RoutingControlState } from './arc.js';
import type { FakeAwsHealthServer } from './health.js';

/**
 * What AWS's own DNS does in the lab, on the lab's BIND: Health's global name moving to the passive region,
 * and the answer of a Route 53 failover record pair following its routing controls (the data plane).
 */

/** Writes one record to the lab's BIND (RFC 2136, TSIG) as AWS's own DNS changes its answers. */
export async function writeLabRecord(
  state: LabState,
  record: { zone: string; name: string; type: 'A' | 'CNAME'; value: string },
): Promise<void> {
  const dns = state.dns!;
  const workDir = join(state.dir, 'aws-dns');
  mkdirSync(workDir, { recursive: true });
  const ctx: StepContext = {
    runId: 'aws-dns',
    runbook: 'lab',
    stage: 'aws',
    step: 'answer',
    attempt: 1,
    resumed: false,
    idempotencyKey: 'aws-dns/answer/1',
    signal: AbortSignal.timeout(15_000),
    workDir,
    state: transientState(),
    env: process.env,
    progress: () => undefined,
  };
  await dnsAdapter.run(
    dnsAdapter.schema.parse({
      provider: 'rfc2136',
      server: dns.host,
      port: dns.port,
      tsig: dns.tsig,
      ttl: LAB_DNS_TTL_S,
      ...record,
    }),
    ctx,
  );
}

/**
 * AWS's side of Health's active-passive failover: global.health.amazonaws.com is a CNAME to the active
 * region's endpoint; once that region fails, AWS moves the name to the passive one. The lab's BIND serves
 * the name, and the controller's Health client finds its region through it.
 */
export class HealthGlobalName {
  active: 'us-east-1' | 'us-east-2' = 'us-east-1';
  movedAt?: number;
  /** Requests the us-east-1 stand-in had taken when the name moved. */
  eastRequestsAtMove?: number;
  readonly errors: string[] = [];
  private moving?: Promise<void>;

  constructor(
    private readonly state: LabState,
    private readonly east: FakeAwsHealthServer,
  ) {}

  moveToPassive(): void {
    this.moving ??= writeLabRecord(this.state, {
      zone: AWS_HEALTH_ZONE.zone,
      name: `global.${AWS_HEALTH_ZONE.zone}`,
      type: 'CNAME',
      value: 'health.us-east-2.amazonaws.com.',
    }).then(
      () => {
        this.active = 'us-east-2';
        this.movedAt = performance.now();
        this.eastRequestsAtMove = this.east.requests.length;
      },
      (error: unknown) => void this.errors.push((error as Error).message),
    );
  }
}

/**
 * Route 53's data plane for a failover record pair (PRIMARY → the primary app, SECONDARY → DR) whose
 * health checks follow the two routing controls: the answer is the primary while its control is On, else
 * DR while its control is On. In the lab, BIND serves the zone: each change of answer is written to it
 * (RFC 2136, TSIG), as Route 53's name servers change their answer without any change-API call.
 */
export class FailoverRecordPair {
  switchedAt?: number;
  answer: string;
  private queue: Promise<void> = Promise.resolve();
  readonly errors: string[] = [];

  constructor(
    private readonly state: LabState,
    private readonly controls: Map<string, RoutingControlState>,
    private readonly primaryControl: string,
    private readonly drControl: string,
  ) {
    this.answer = state.appHost.primary;
  }

  /** Re-evaluates the health checks after a routing control changed. */
  follow(): void {
    const next =
      this.controls.get(this.primaryControl) === 'On'
        ? this.state.appHost.primary
        : this.controls.get(this.drControl) === 'On'
          ? this.state.appHost.dr
          : this.state.appHost.primary; // both unhealthy: Route 53 answers as if both were healthy
    this.queue = this.queue.then(() => this.publish(next));
  }

  private async publish(address: string): Promise<void> {
    if (address === this.answer) return;
    const { zone } = this.state.dns!;
    try {
      await writeLabRecord(this.state, { zone, name: `app.${zone}`, type: 'A', value: address });
      this.answer = address;
      this.switchedAt = performance.now();
    } catch (error) {
      this.errors.push((error as Error).message);
    }
  }
}
