import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { fakeArcEndpoint } from '../src/stand-ins/aws/arc.js';
import { FakeRoute53 } from '../src/stand-ins/aws/route53.js';
import { FakeArm } from '../src/stand-ins/azure/arm-dns.js';
import { FakeCloudflare } from '../src/stand-ins/cloudflare/dns.js';
import { FakeDeploymentApi } from '../src/stand-ins/kubernetes/apiserver.js';
import type { BindServer } from '../src/lab/index.js';
import { pagerDutyEventsServer } from '../src/stand-ins/pagerduty/events-api.js';

/**
 * What the kill-anywhere benchmark's runbook acts on, in the bench's own process so the killed
 * controllers cannot take it with them: the DNS providers' stand-ins (Route 53, Route 53 ARC, Cloudflare,
 * Azure DNS and Traffic Manager through one ARM stand-in, BIND for RFC 2136), a Kubernetes API server,
 * PagerDuty's Events API, and a receiver for `http` steps and webhook notifications. Each round gets its
 * own, in the state production would be in before a failover. Every write is applied at once and answered
 * `answerDelayMs` later (the stand-ins' `answerDelayMs`; BIND's updates through a DnsDelayRelay), so a kill
 * can land after the service applied a change and before the controller heard of it.
 */

const SUB = '00000000-0000-0000-0000-0000000000b1';
const ARN = 'arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/';

/** One effect the receiver applied: a new Idempotency-Key on a step's path. */
interface ReceiverEffect {
  path: string;
  key: string;
}

/**
 * An HTTP endpoint that honours Idempotency-Key as Stripe and the IETF draft describe: the first request
 * with a key is applied and its answer kept; a request with a key seen before gets that answer and is
 * not applied again. It answers `answerDelayMs` after applying, so a kill often lands after the effect and
 * before the step could journal it.
 */
export class IdempotentReceiver {
  readonly effects: ReceiverEffect[] = [];
  private readonly answers = new Map<string, Promise<string>>();
  private server?: Server;

  constructor(private readonly answerDelayMs = 300) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const chunk of req) void chunk;
    const key = String(req.headers['idempotency-key'] ?? '');
    if (!key) return void res.writeHead(400).end('Idempotency-Key header is required');
    let answer = this.answers.get(key);
    if (!answer) {
      this.effects.push({ path: new URL(req.url ?? '/', 'http://x').pathname, key });
      answer = new Promise((r) => setTimeout(() => r(JSON.stringify({ applied: key })), this.answerDelayMs));
      this.answers.set(key, answer);
    }
    const body = await answer;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export type StandIns = Awaited<ReturnType<typeof startStandIns>>;

/**
 * Starts one round's stand-ins; `bind` is shared by the rounds, each writing its own record name, and
 * updated through `dnsUpdate` (the relay that holds BIND's replies).
 */
export async function startStandIns(
  dir: string,
  bind: BindServer,
  round: number,
  answerDelayMs: number,
  dnsUpdate: { host: string; port: number },
) {
  const route53 = await new FakeRoute53('ZBENCH0000001', 'example.com.', 2).start();
  route53.answerDelayMs = answerDelayMs;
  const cloudflare = await new FakeCloudflare('cf-zone-bench', 'example.com', 'cf-token').start();
  cloudflare.answerDelayMs = answerDelayMs;
  cloudflare.seed('rec-primary', 'www.example.com', '198.51.100.1');
  const arm = await new FakeArm(SUB, 'rg-dr', 'arm-token').start();
  arm.answerDelayMs = answerDelayMs;
  arm.profiles.set('shop-tm', {
    fqdn: 'shop-tm.trafficmanager.net',
    ttl: 30,
    endpoints: [
      {
        name: 'aws-primary',
        target: 'alb.us-east-1.elb.amazonaws.com',
        endpointStatus: 'Enabled',
        priority: 1,
      },
      {
        name: 'azure-dr',
        target: 'shop-dr.eastus2.cloudapp.azure.com',
        endpointStatus: 'Disabled',
        priority: 2,
      },
    ],
  });
  arm.zones.set('example.com', [{ type: 'A', name: 'app', ttl: 60, body: { TTL: 60, ARecords: [] } }]);
  const controls = new Map([
    [`${ARN}dr`, 'Off' as const],
    [`${ARN}primary`, 'On' as const],
  ]) as Map<string, 'On' | 'Off'>;
  const arc = await fakeArcEndpoint('us-east-1', controls, undefined, { answerDelayMs });
  const kube = await new FakeDeploymentApi([
    { namespace: 'shop', name: 'web', replicas: 0 },
    { namespace: 'shop', name: 'worker', replicas: 2 },
    // The old primary's app, which the fence scales to zero.
    { namespace: 'shop-old', name: 'web', replicas: 3 },
  ]).start();
  kube.answerDelayMs = answerDelayMs;
  const pagerduty = await pagerDutyEventsServer({ answerDelayMs });
  const receiver = await new IdempotentReceiver(answerDelayMs).start();
  const effectsDir = join(dir, 'command-effects');
  mkdirSync(effectsDir, { recursive: true });
  const bindName = `app-r${round}.${bind.zone}`;
  return {
    route53,
    cloudflare,
    arm,
    controls,
    arc,
    kube,
    pagerduty,
    receiver,
    effectsDir,
    bind,
    dnsUpdate,
    bindName,
    arn: ARN,
    subscription: SUB,
    async stop() {
      await Promise.all([
        route53.close(),
        cloudflare.stop(),
        arm.stop(),
        arc.close(),
        kube.stop(),
        pagerduty.close(),
        receiver.stop(),
      ]);
    },
  };
}

/** Names the command step's effects: one directory per idempotency key, `<run>_<step>_<n>`. */
function commandEffects(s: StandIns): Array<{ step: string; key: string }> {
  return readdirSync(s.effectsDir).map((key) => ({ step: key.split('_').slice(1, -1).join('_'), key }));
}

async function bindAnswer(s: StandIns): Promise<string[]> {
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([`127.0.0.1:${s.bind.port}`]);
  return resolver.resolve4(s.bindName).catch(() => []);
}

/**
 * What every touched system holds after a round, without what differs by nature between runs
 * (run ids, timestamps, server-made ids): two rounds that did the same have equal snapshots.
 */
export async function snapshot(s: StandIns): Promise<Record<string, unknown>> {
  const deployment = (name: string, namespace = 'shop') => {
    const d = s.kube.state(namespace, name)!;
    return { replicas: d.replicas, restarts: d.restarts };
  };
  return {
    route53: [...s.route53.records.values()],
    route53_arc: Object.fromEntries(s.controls),
    cloudflare: s.cloudflare.records.map(({ id: _id, ...rest }) => rest),
    azure_dns: s.arm.zones.get('example.com'),
    azure_traffic_manager: s.arm.profiles.get('shop-tm'),
    rfc2136: await bindAnswer(s),
    kubernetes: { web: deployment('web'), worker: deployment('worker') },
    fence_app: deployment('web', 'shop-old'),
    pagerduty: [...s.pagerduty.alerts.values()].map((a) => ({ status: a.status, severity: a.severity })),
    http: [...new Set(s.receiver.effects.map((e) => e.path))].sort(),
    command: [...new Set(commandEffects(s).map((e) => e.step))].sort(),
  };
}

/**
 * Side effects applied more than once for one step: a second key applied at the receiver for one
 * path, a second command effect for one step, a second PagerDuty incident, a second pod restart,
 * a second Cloudflare record for one name.
 */
export function duplicatedEffects(s: StandIns): Record<string, number> {
  const extra = (keys: string[]) => keys.length - new Set(keys).size;
  const cfNames = s.cloudflare.records.map((r) => `${r.type} ${r.name}`);
  return {
    http: extra(s.receiver.effects.map((e) => e.path)),
    command: extra(commandEffects(s).map((e) => e.step)),
    pagerduty: Math.max(0, s.pagerduty.alerts.size - 1),
    kubernetes_restart: Math.max(0, s.kube.state('shop', 'worker')!.restarts - 1),
    cloudflare: extra(cfNames),
  };
}
