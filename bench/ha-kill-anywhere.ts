// Kill the leader anywhere: npm run bench:ha -- --kill-anywhere [--kills 30 --inside 10 --ttl 3 --seed N
//   --max-minutes M --per-step 0.35 --between 0.2 --answer-delay-ms 200 --kills-per-round 3 --keep
//   --store sqlite|postgres --runbook failover|data|wayback|all --json]
// A leader and --kills-per-round standbys (`phoenix run`, the built product) share a store and run a
// runbook with every built-in step type the lab can host: fence (the old primary's PostgreSQL), database
// (the lab's logical cut-over to the DR database), storage_sync (S3 on s3rver to Azure Blob on Azurite),
// every DNS provider's stand-in, kubernetes scale and restart, notify to PagerDuty and to a webhook,
// command, http. Two more runbooks (bench/ha-data-steps.ts) hold the steps that cannot share it (one way
// of opening the DR database per configuration): `data` (physical promote, dump_restore, terraform,
// health_check, verify) and `wayback` (azure_promote, fence of the returning primary, reprotect);
// `--runbook all` (the default) alternates the three, each with its own reference round.
// --store postgres: the controllers share a scratch schema of $PHOENIX_BENCH_PG_URL (default the local
// server), each with a host id of its own (PHOENIX_HOST_ID), so a dead leader is noticed by its lease only
// (the default, sqlite, is one file on this host). Rounds are repeated, each on fresh stand-ins,
// databases and container: the first is never killed and is the
// reference; in the others the leader is SIGKILLed (each time a standby is ready) inside steps drawn
// independently (--per-step), at an instant uniform inside each, and at times once over the whole run
// (--between). Each round's final state of every touched system is
// compared with the reference's, and side effects applied twice are counted at the stand-ins and servers.
// resume = from the kill until a step starts under the new leader (or the run ends).
// Every service the steps write to answers a write --answer-delay-ms after applying it (the stand-ins, and
// BIND through a relay that holds its update replies): the instant a kill is most adversarial at, when the
// change is made and the controller cannot have journaled it, lasts that long in every step, short ones
// included. Rounds go on, within --max-rounds and --max-minutes, until every step was killed inside once;
// a step not yet killed inside is aimed at with twice the --per-step probability.
import { clusterStore, ControllerCluster, p50max, until, type ClusterStore } from './ha-cluster.js';
import { snapshot, duplicatedEffects, startStandIns, type StandIns } from './ha-stand-ins.js';
import { createServer } from 'node:http';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBind } from '../src/lab/index.js';
import { LabSystems, type LabNames, type LabRound } from './ha-lab-systems.js';
import { DnsDelayRelay } from './dns-delay-relay.js';
import { BenchCleanup } from './cleanup.js';
import { DataSystems, type DataKind, type DataPlan, type DataRound } from './ha-data-steps.js';

const { values } = parseArgs({
  options: {
    'kill-anywhere': { type: 'boolean' },
    kills: { type: 'string', default: '30' },
    inside: { type: 'string', default: '10' },
    ttl: { type: 'string', default: '3' },
    seed: { type: 'string' },
    'max-rounds': { type: 'string', default: '60' },
    'max-minutes': { type: 'string' },
    between: { type: 'string', default: '0.2' },
    'per-step': { type: 'string', default: '0.35' },
    store: { type: 'string', default: 'sqlite' },
    'answer-delay-ms': { type: 'string', default: '200' },
    'kills-per-round': { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    runbook: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
  },
});
const wantKills = Number(values.kills);
const wantInside = Number(values.inside);
const ttl_s = Number(values.ttl);
const maxRounds = Number(values['max-rounds']);
const betweenShare = Number(values.between);
const perStep = Number(values['per-step']);
const storeKind = values.store === 'postgres' ? 'postgres' : 'sqlite';
if (values.store !== storeKind) {
  console.error(`--store ${values.store} is not known; use sqlite or postgres`);
  process.exit(2);
}
const answerDelayMs = Number(values['answer-delay-ms']);
const killsPerRound = Number(values['kills-per-round']);
type Kind = 'failover' | DataKind;
const kinds: Kind[] =
  values.runbook === 'all' ? ['failover', 'data', 'wayback'] : ([values.runbook] as Kind[]);
if (!kinds.every((k) => k === 'failover' || k === 'data' || k === 'wayback')) {
  console.error('--runbook takes failover, data, wayback or all');
  process.exit(2);
}
// A time budget: no round starts after it (a loaded machine may not reach --kills in the time there is).
const budgetEnd = values['max-minutes'] ? Date.now() + Number(values['max-minutes']) * 60_000 : Infinity;
if (
  !(wantKills >= 1) ||
  !(wantInside >= 0) ||
  !(ttl_s >= 1) ||
  !(maxRounds >= 2) ||
  !(answerDelayMs >= 0) ||
  !(killsPerRound >= 1)
) {
  console.error(
    '--kills, --inside, --ttl, --max-rounds, --answer-delay-ms and --kills-per-round take numbers: kills ≥ 1, ttl ≥ 1 s, max-rounds ≥ 2, answer delay ≥ 0 ms, kills per round ≥ 1',
  );
  process.exit(2);
}
// A small seeded generator (mulberry32), so a run of the benchmark can be repeated.
let seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
const firstSeed = seed;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const base = mkdtempSync(join(tmpdir(), 'phoenix-bench-kill-anywhere-'));
const cleanup = BenchCleanup.install('bench:ha --kill-anywhere', { dir: base, keep: values.keep });
// Every probe answers healthy until a round's standbys are ready, then fails, so the leader decides
// dr_failover only once two controllers can take over (under load a controller takes seconds to start:
// had the run begun before, it could end before the first standby, and the kill land after the run).
let failing = false;
const down = createServer((_req, res) => (failing ? res.writeHead(503).end('down') : res.end('ok')));
await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
cleanup.addServer('the probe target', down);
const downUrl = `http://127.0.0.1:${(down.address() as { port: number }).port}`;
const bind = await startBind({
  baseDir: join(base, 'bind'),
  zone: 'bench.example',
  records: [{ name: 'ns', type: 'A', value: '127.0.0.1' }],
});
cleanup.add('BIND', () => bind.stop());
// The rfc2136 step updates BIND through it; the snapshot asks BIND directly.
const relay = await new DnsDelayRelay(bind.host, bind.port, answerDelayMs).start();
cleanup.add('the DNS relay', () => relay.stop());

// The old primary's and the DR database's PostgreSQL, S3 and Azure Blob: started once, a pair and a
// container per round.
const lab = await LabSystems.start(join(base, 'lab'));
cleanup.add('the lab systems', () => lab.stop());
const data = kinds.some((k) => k !== 'failover')
  ? await DataSystems.start(join(base, 'data'), lab)
  : undefined;
if (data) cleanup.add('the data systems', () => data.stop());
process.stderr.write(`bench:ha --kill-anywhere: servers up in ${base}\n`);

/** The runbook: one step of each kind, in the order a failover would take them. */
function steps(s: StandIns, l: LabNames) {
  const arm = {
    subscription_id: s.subscription,
    resource_group: 'rg-dr',
    access_token: 'arm-token',
    arm_endpoint: s.arm.url,
    ca_file: s.arm.caFile,
  };
  const cluster = { server: s.kube.url, token: s.kube.bearer, insecure_skip_tls_verify: true };
  const dns = (name: string, params: Record<string, unknown>) => ({ name, type: 'dns', params });
  // The effect is a directory named by the idempotency key: mkdir is atomic, so a second attempt under
  // the same key finds it, and one under another key would show as a second effect.
  const effect = `mkdir -p "${s.effectsDir}/$(echo "$PHOENIX_IDEMPOTENCY_KEY" | tr / _)"; sleep 0.3`;
  return [
    {
      name: 'page',
      type: 'notify',
      params: {
        channel: 'pagerduty',
        url: s.pagerduty.url,
        routing_key: 'R0UTING',
        message: 'DR {{run_id}}',
      },
    },
    // The fence also scales the old primary's app to zero (its app layer).
    ...lab.steps(l).map((step) =>
      step.type === 'fence'
        ? {
            ...step,
            params: {
              ...step.params,
              app: {
                action: 'scale',
                namespace: 'shop-old',
                deployment: 'web',
                replicas: 0,
                cluster,
                poll_interval: 0.1,
              },
            },
          }
        : step,
    ),
    { name: 'switch-app', type: 'command', params: { command: 'sh', args: ['-c', effect] } },
    { name: 'deploy-hook', type: 'http', params: { url: `${s.receiver.url}/deploy`, method: 'POST' } },
    dns('route53', {
      ...s.route53.access(),
      name: 'app.example.com',
      type: 'A',
      value: '203.0.113.10',
      poll_interval: 0.1,
    }),
    dns('cloudflare', {
      ...s.cloudflare.access(),
      name: 'www.example.com',
      type: 'A',
      value: '203.0.113.11',
    }),
    dns('azure-dns', {
      provider: 'azure_dns',
      ...arm,
      zone: 'example.com',
      name: 'app.example.com',
      type: 'A',
      value: '203.0.113.12',
    }),
    dns('traffic-manager', {
      provider: 'azure_traffic_manager',
      ...arm,
      profile: 'shop-tm',
      enable: ['azure-dr'],
      disable: ['aws-primary'],
    }),
    dns('arc', {
      provider: 'route53_arc',
      cluster_endpoints: [{ endpoint: s.arc.url, region: 'us-east-1' }],
      routing_controls: [
        { arn: `${s.arn}dr`, state: 'On' },
        { arn: `${s.arn}primary`, state: 'Off' },
      ],
      access_key_id: 'AKIAFAKE',
      secret_access_key: 'fake-secret',
    }),
    dns('rfc2136', {
      provider: 'rfc2136',
      server: s.dnsUpdate.host,
      port: s.dnsUpdate.port,
      zone: s.bind.zone,
      tsig: s.bind.tsig,
      name: s.bindName,
      type: 'A',
      value: '203.0.113.13',
    }),
    {
      name: 'scale-up',
      type: 'kubernetes',
      params: {
        action: 'scale',
        namespace: 'shop',
        deployment: 'web',
        replicas: 3,
        cluster,
        poll_interval: 0.1,
      },
    },
    {
      name: 'restart-workers',
      type: 'kubernetes',
      params: { action: 'restart', namespace: 'shop', deployment: 'worker', cluster, poll_interval: 0.1 },
    },
    {
      name: 'announce',
      type: 'notify',
      params: { channel: 'webhook', url: `${s.receiver.url}/announce`, message: 'DR done' },
    },
  ];
}

function writeConfig(
  dir: string,
  runbook: { steps: unknown[]; replication?: string },
): { config: string; store: ClusterStore } {
  const { section, store } = clusterStore(storeKind, dir, ttl_s);
  const config = join(dir, 'phoenix.yaml');
  writeFileSync(
    config,
    stringify({
      interval: 1,
      decision: { analyzer: 'threshold' },
      store: section,
      server: { enabled: false },
      probes: {
        timeout: '1s',
        signals: {
          internal_services: { type: 'http_checks', targets: [{ name: 'api', url: downUrl }] },
          eks_nodes: { type: 'http', url: downUrl },
          cross_cloud: { type: 'http', url: downUrl },
        },
      },
      runbooks: {
        ...(runbook.replication && { replication: runbook.replication }),
        dr_failover: { stages: [{ name: 'failover', steps: runbook.steps }] },
      },
    }),
  );
  return { config, store };
}

interface Kill {
  inside_step: boolean;
  /** The step whose attempt was running when the leader died. */
  step?: string;
  /** The step the kill instant was drawn in (absent: drawn over the whole run). */
  aimed_at?: string;
  resume_s: number;
}

interface Round {
  kind: Kind;
  kills: Kill[];
  status: string;
  run_s: number;
  steps_not_succeeded: number;
  interrupted_attempts: number;
  state: Record<string, unknown>;
  duplicated: Record<string, number>;
  /** Each step's attempts' length in this round (the reference's: where kill instants are drawn). */
  step_s: Record<string, number>;
  /** Each step's type, by name, in the runbook's order. */
  types: Record<string, string>;
  /** Planned kills whose step ended before the bench saw it running. */
  missed: number;
  /** Planned kills not tried: the run ended first. */
  not_reached: number;
  /** Effects repeated harmlessly (a dump uploaded again over the same object). */
  repeated: Record<string, number>;
}

const runRow = async (c: ControllerCluster) =>
  (await c.rows<{ id: string; status: string }>('SELECT id, status FROM runbook_runs'))[0];
const attemptCount = async (c: ControllerCluster) =>
  Number((await c.rows<{ n: number }>('SELECT COUNT(*) AS n FROM runbook_attempts'))[0]?.n ?? 0);
const finished = (status?: string) => status === 'succeeded' || status === 'failed' || status === 'aborted';

/** Kills the leader once, classifies the instant, and waits until the new leader starts a step. */
async function killOnce(c: ControllerCluster): Promise<Kill> {
  const leader = (await c.lease())!;
  c.kill(leader.pid);
  const killedAt = performance.now();
  // The killed leader writes nothing more: what its journal says now is where it died.
  const running = await c.rows<{ step: string }>(
    "SELECT step FROM runbook_attempts WHERE outcome = 'running'",
  );
  const attempts = await attemptCount(c);
  await until(
    'a step to start under the new leader',
    async () => (await attemptCount(c)) > attempts || finished((await runRow(c))?.status),
  );
  return {
    inside_step: running.length > 0,
    step: running[0]?.step,
    resume_s: (performance.now() - killedAt) / 1000,
  };
}

/**
 * Where a round's kills land: each step of the runbook independently with probability `--per-step` (twice
 * that for a step not yet killed inside), at an instant uniform inside it (its length in the reference run,
 * from when its attempt is seen `running`), so that every step type is killed inside about as often, short
 * ones too; and with probability `--between` one more at an instant uniform over the whole run (it may fall
 * between steps). At most `--kills-per-round` of them (the round's standbys), steps not yet killed inside
 * first: a kill beyond the standbys that followed at the start waits for a controller started after a
 * kill, which on a loaded machine is ready after the run ended (with two standbys, the late steps were
 * never killed). In the runbook's order.
 */
function planKills(reference: Round, covered: Set<string>): Array<string | undefined> {
  const between = random() < betweenShare;
  const drawn = Object.keys(reference.types).filter(
    (step) => random() < (covered.has(step) ? perStep : Math.min(1, 2 * perStep)),
  );
  const shuffled = (list: string[]) =>
    list
      .map((step) => ({ step, key: random() }))
      .sort((a, b) => a.key - b.key)
      .map((e) => e.step);
  const chosen = new Set(
    [
      ...shuffled(drawn.filter((step) => !covered.has(step))),
      ...shuffled(drawn.filter((step) => covered.has(step))),
    ].slice(0, Math.max(0, killsPerRound - (between ? 1 : 0))),
  );
  return [...(between ? [undefined] : []), ...Object.keys(reference.types).filter((s) => chosen.has(s))];
}

/**
 * Waits for a planned kill's instant. False when it cannot come: the step ended before the bench saw its
 * attempt running (shorter than a poll), or the run ended.
 */
async function killInstant(
  c: ControllerCluster,
  reference: Round,
  step: string | undefined,
  done: () => Promise<boolean>,
): Promise<boolean> {
  let inside = random() * reference.run_s * 1000;
  if (step !== undefined) {
    const quoted = `'${step.replace(/'/g, "''")}'`;
    let running = false;
    await until(
      `step ${step} to start`,
      async () => {
        running =
          (await c.rows(`SELECT 1 FROM runbook_attempts WHERE step = ${quoted} AND outcome = 'running'`))
            .length > 0;
        if (running) return true;
        const [row] = await c.rows<{ status: string }>(
          `SELECT status FROM runbook_steps WHERE name = ${quoted}`,
        );
        return row?.status === 'succeeded' || (await done());
      },
      600_000,
    );
    if (!running) return false;
    inside = random() * (reference.step_s[step] ?? 0) * 1000;
  }
  const at = performance.now() + inside;
  await until('the kill instant', async () => performance.now() >= at || (await done()), 600_000);
  return !(await done());
}

/** One round on fresh stand-ins; with a reference round, the leader is killed until the run ends. */
async function round(
  index: number,
  kind: Kind,
  reference?: Round,
  covered = new Set<string>(),
): Promise<Round> {
  const dir = join(base, `round-${index}`);
  const s = await startStandIns(dir, bind, index, answerDelayMs, { host: '127.0.0.1', port: relay.port });
  const names = lab.names(index);
  const plan: DataPlan | undefined = kind === 'failover' ? undefined : await data!.plan(kind, index, dir);
  const { config, store } = writeConfig(
    dir,
    plan ? data!.runbook(plan, downUrl) : { steps: steps(s, names) },
  );
  const cluster = new ControllerCluster(config, store, store.kind === 'postgres');
  const kills: Kill[] = [];
  /** Planned kills whose step ended before the bench saw it running. */
  let missed = 0;
  let notReached = 0;
  let l: LabRound | undefined;
  let d: DataRound | undefined;
  try {
    failing = false;
    // The round's databases are made while the controllers boot (each takes seconds here). The leader
    // starts first: started at once, a controller that took the lease and lost it to another under load
    // never says it follows, and would be waited for as a standby. Probes answer healthy until all is ready.
    const preparing: Promise<LabRound | DataRound> = plan
      ? data!.prepare(plan).then((r) => (d = r))
      : lab.prepare(index).then((r) => (l = r));
    preparing.catch(() => undefined);
    cluster.start(false);
    await until('the first leader', async () => (await cluster.lease()) !== undefined);
    // One standby per planned kill, all following before the run starts: a standby started after a kill
    // is ready only seconds later on a loaded machine, often after the run ended.
    let followers = Array.from({ length: killsPerRound }, () => cluster.start(true));
    await until('the standbys', () => followers.every((p) => cluster.standbyReady(p)));
    process.stderr.write(`round ${index}: controllers up (${[...cluster.children.keys()].join(', ')})\n`);
    const prepared = await preparing;
    failing = true;
    await until('the run to start', async () => (await runRow(cluster)) !== undefined);
    const startedAt = performance.now();
    const done = async () => finished((await runRow(cluster))?.status);
    const targets = reference ? planKills(reference, covered) : [];
    for (const [at, target] of targets.entries()) {
      // The instant is drawn once a standby follows, so every kill has a successor ready and none lands
      // after the run ended (which read as a kill outside any step with an instant resume).
      await until('a standby', async () => followers.some((p) => cluster.standbyReady(p)) || (await done()));
      if (!(await killInstant(cluster, reference!, target, done))) {
        if (await done()) {
          notReached = targets.length - at;
          break;
        }
        missed += 1;
        continue;
      }
      kills.push({ ...(await killOnce(cluster)), aimed_at: target });
      const leader = (await cluster.lease())?.pid;
      followers = [...followers.filter((p) => p !== leader), cluster.start(true)];
    }
    await until('the run to end', done, 900_000);
    const run_s = (performance.now() - startedAt) / 1000;
    const stepRows = await cluster.rows<{ status: string }>('SELECT status FROM runbook_steps');
    const interrupted = await cluster.rows<{ n: number }>(
      "SELECT COUNT(*) AS n FROM runbook_attempts WHERE outcome = 'interrupted'",
    );
    const attempts = await cluster.rows<{ step: string; s: number }>(
      'SELECT step, SUM(finished_at - started_at) AS s FROM runbook_attempts GROUP BY step',
    );
    const [state, duplicated] = d
      ? [await data!.snapshot(d), await data!.duplicated(d)]
      : [
          { ...(await snapshot(s)), ...(await lab.snapshot(prepared as LabRound)) },
          { ...duplicatedEffects(s), ...(await lab.duplicated(prepared as LabRound)) },
        ];
    return {
      kind,
      kills,
      status: (await runRow(cluster))!.status,
      run_s,
      steps_not_succeeded: stepRows.filter((r) => r.status !== 'succeeded').length,
      interrupted_attempts: Number(interrupted[0]?.n ?? 0),
      state,
      duplicated,
      repeated: plan ? data!.repeated(plan) : {},
      missed,
      not_reached: notReached,
      step_s: Object.fromEntries(attempts.map((a) => [a.step, Number(a.s ?? 0)])),
      types: Object.fromEntries(
        (
          await cluster.rows<{ name: string; type: string }>(
            'SELECT name, type FROM runbook_steps ORDER BY stage_index, step_index',
          )
        ).map((r) => [r.name, r.type]),
      ),
    };
  } catch (error) {
    cluster.dumpOutput();
    throw error;
  } finally {
    await cluster.stop();
    await s.stop();
    if (plan) await data!.cleanup(plan, d);
    else await lab.cleanup(l ?? names);
  }
}

/** The effects a round applied twice, named, or nothing. */
function duplicates(r: Round): string {
  const twice = Object.entries(r.duplicated).filter(([, n]) => n > 0);
  return twice.length ? `, applied twice: ${twice.map(([k, n]) => `${k} ${n}`).join(', ')}` : '';
}

/** The systems whose final state differs from the reference round's. */
function mismatches(reference: Record<string, unknown>, state: Record<string, unknown>): string[] {
  return Object.keys(reference).filter((k) => !isDeepStrictEqual(reference[k], state[k]));
}

try {
  // One reference round per runbook, never killed: each killed round is compared with its own kind's.
  const references = new Map<Kind, Round>();
  for (const [n, kind] of kinds.entries()) {
    const reference = await round(n, kind);
    if (reference.status !== 'succeeded' || reference.steps_not_succeeded > 0)
      throw new Error(
        `the ${kind} reference run did not succeed (${reference.status}); see the controllers' output`,
      );
    const twice = duplicates(reference);
    if (twice) throw new Error(`the ${kind} reference run, never killed${twice}`);
    references.set(kind, reference);
    process.stderr.write(`${kind} reference run: ${reference.run_s.toFixed(2)} s\n`);
  }
  const referenceOf = (r: Round) => references.get(r.kind)!;
  const rounds: Round[] = [];
  const all = () => rounds.flatMap((r) => r.kills);
  const covered = () => new Set(all().flatMap((k) => (k.step ? [k.step] : [])));
  const everyStep = () => [...references.values()].flatMap((ref) => Object.keys(ref.types));
  for (let i = 1; i <= maxRounds && Date.now() < budgetEnd; i++) {
    if (
      all().length >= wantKills &&
      all().filter((k) => k.inside_step).length >= wantInside &&
      everyStep().every((step) => covered().has(step))
    )
      break;
    // Alternating runbooks: round numbers after the references' so each round has its own databases.
    const kind = kinds[(i - 1) % kinds.length];
    const r = await round(kinds.length - 1 + i, kind, references.get(kind), covered());
    rounds.push(r);
    const differs = mismatches(referenceOf(r).state, r.state);
    process.stderr.write(
      `round ${i} (${kind}): ${r.kills.length} kills (${r.kills.filter((k) => k.inside_step).length} inside steps; resumed in ${r.kills.map((k) => k.resume_s.toFixed(2)).join(', ')} s), ${r.status}, ${r.interrupted_attempts} steps re-run${differs.length ? `, differs: ${differs.join(', ')}` : ''}${duplicates(r)}; killed inside ${r.kills.map((k) => k.step ?? '-').join(', ')}\n`,
    );
    for (const system of differs)
      process.stderr.write(
        `  ${system}: reference ${JSON.stringify(referenceOf(r).state[system])}, this round ${JSON.stringify(r.state[system])}\n`,
      );
  }
  const kills = all();
  const resume = p50max(kills.map((k) => k.resume_s));
  const refs = [...references.values()];
  const sumBy = (field: 'duplicated' | 'repeated') =>
    Object.fromEntries(
      [...new Set(refs.flatMap((ref) => Object.keys(ref[field])))].map((k) => [
        k,
        rounds.reduce((n, r) => n + (r[field][k] ?? 0), 0),
      ]),
    );
  const types = refs.flatMap((ref) => Object.values(ref.types));
  const result = {
    kills: kills.length,
    kill_points_inside_steps: kills.filter((k) => k.inside_step).length,
    steps_rerun_after_kill: rounds.reduce((n, r) => n + r.interrupted_attempts, 0),
    effects_duplicated: rounds.reduce(
      (n, r) => n + Object.values(r.duplicated).reduce((a, b) => a + b, 0),
      0,
    ),
    final_state_mismatches: rounds.reduce((n, r) => n + mismatches(referenceOf(r).state, r.state).length, 0),
    lost_steps: rounds.reduce((n, r) => n + r.steps_not_succeeded, 0),
    resume_p50_s: resume.p50,
    resume_max_s: resume.max,
    rounds: rounds.length,
    rounds_by_runbook: Object.fromEntries(kinds.map((k) => [k, rounds.filter((r) => r.kind === k).length])),
    kills_inside_by_step: Object.fromEntries(
      [...new Set(kills.flatMap((k) => (k.step ? [k.step] : [])))]
        .sort()
        .map((step) => [step, kills.filter((k) => k.step === step).length]),
    ),
    // Per step of the runbooks: its type, the kills aimed inside it, and those that landed inside it (a
    // step shorter than the poll that sees it start can end first: the kill then lands in the next one).
    by_step: Object.fromEntries(
      refs.flatMap((ref) =>
        Object.entries(ref.types).map(([step, type]) => [
          step,
          {
            type,
            runbook: ref.kind,
            reference_s: Math.round((ref.step_s[step] ?? 0) * 100) / 100,
            kills_aimed: kills.filter((k) => k.aimed_at === step).length,
            kills_inside: kills.filter((k) => k.step === step).length,
          },
        ]),
      ),
    ),
    kills_between_steps_drawn: kills.filter((k) => k.aimed_at === undefined).length,
    kills_planned_missed: rounds.reduce((n, r) => n + r.missed, 0),
    kills_planned_not_reached: rounds.reduce((n, r) => n + r.not_reached, 0),
    steps_never_killed_inside: everyStep().filter((step) => !covered().has(step)),
    answer_delay_ms: answerDelayMs,
    effects_duplicated_by_system: sumBy('duplicated'),
    // Effects a resumed step repeats by design and without harm (a dump uploaded again over itself).
    effects_repeated_harmless_by_system: sumBy('repeated'),
    final_state_mismatches_by_system: Object.fromEntries(
      refs.flatMap((ref) =>
        Object.keys(ref.state).map((k) => [
          k,
          rounds.filter((r) => r.kind === ref.kind && !isDeepStrictEqual(ref.state[k], r.state[k])).length,
        ]),
      ),
    ),
    step_types: [...new Set(types)],
    fence_layers: kinds.includes('failover') ? ['database', 'app'] : ['database'],
    storage_sync_directions: kinds.includes('failover') ? ['s3_to_azure', 'azure_to_s3'] : [],
    database_actions: [
      ...(kinds.includes('failover') ? ['cutover'] : []),
      ...(kinds.includes('data') ? ['promote', 'dump_restore'] : []),
      ...(kinds.includes('wayback') ? ['azure_promote', 'reprotect'] : []),
    ],
    dns_providers: kinds.includes('failover')
      ? ['route53', 'cloudflare', 'azure_dns', 'azure_traffic_manager', 'route53_arc', 'rfc2136']
      : [],
    // helm steps are not run: there is no helm binary on this machine.
    step_types_not_run: ['helm'],
    reference_run_s: Math.round(refs[0].run_s * 100) / 100,
    reference_run_s_by_runbook: Object.fromEntries(
      refs.map((r) => [r.kind, Math.round(r.run_s * 100) / 100]),
    ),
    ttl_s,
    store: storeKind,
    seed: firstSeed,
    stopped_by_time_budget: Date.now() >= budgetEnd,
  };
  if (values.json) console.log(JSON.stringify(result));
  else
    console.log(
      `${result.kills} leader kills (${result.kill_points_inside_steps} inside steps, ${result.steps_rerun_after_kill} steps re-run) over ${result.rounds} runs: ${result.effects_duplicated} effects applied twice, ${result.final_state_mismatches} final states unlike the unkilled run's, ${result.lost_steps} lost steps; resume p50 ${result.resume_p50_s} s, max ${result.resume_max_s} s (seed ${firstSeed})`,
    );
} finally {
  await cleanup.close();
}
