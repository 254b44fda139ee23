import type { ScenarioDoc } from './scenario-variants.js';

type Transform = (doc: ScenarioDoc) => ScenarioDoc;

/** Applies `rewrite` to every string in the document except the expectation. */
function mapStrings(doc: ScenarioDoc, rewrite: (text: string) => string, keys = true): ScenarioDoc {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return rewrite(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object')
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [keys ? rewrite(k) : k, walk(v)] as const),
      );
    return value;
  };
  return {
    ...doc,
    topology: walk(doc.topology) as ScenarioDoc['topology'],
    steps: walk(doc.steps) as ScenarioDoc['steps'],
  };
}

const DIRECTIONS: Record<string, string> = {
  east: 'e',
  west: 'w',
  north: 'n',
  south: 's',
  central: 'c',
  northeast: 'ne',
  northwest: 'nw',
  southeast: 'se',
  southwest: 'sw',
};
const ZONE_NAME =
  /\b((?:us|eu|ap|sa|ca|me|af|il|mx)-(?:north|south)?(?:east|west|central)?(?:north|south)?-\d)([a-f])\b/gi;
const ZONE_ID = /\b(us|eu|ap|sa|ca|me|af|il|mx)(ne|nw|se|sw|e|w|n|s|c)(\d)-az(\d)\b/gi;

/** `us-east-1` → `use1`, the prefix of its zone IDs. */
function zoneIdPrefix(region: string): string {
  const [geo, direction, number] = region.toLowerCase().split('-');
  return `${geo}${DIRECTIONS[direction] ?? direction[0]}${number}`;
}
function regionOfPrefix(geo: string, direction: string, number: string): string {
  const name = Object.entries(DIRECTIONS).find(([, short]) => short === direction.toLowerCase())?.[0];
  return `${geo.toLowerCase()}-${name}-${number}`;
}

/** Zone names become zone IDs (a → az1, b → az2, …), consistently, in text and in structured keys. */
export const zoneNamesToIds: Transform = (doc) =>
  mapStrings(doc, (s) =>
    s.replace(
      ZONE_NAME,
      (_, region: string, letter: string) =>
        `${zoneIdPrefix(region)}-az${letter.toLowerCase().charCodeAt(0) - 96}`,
    ),
  );

/** Zone IDs become zone names (az1 → a, …), consistently. */
export const zoneIdsToNames: Transform = (doc) =>
  mapStrings(doc, (s) =>
    s.replace(
      ZONE_ID,
      (_, geo: string, dir: string, n: string, az: string) =>
        `${regionOfPrefix(geo, dir, n)}${String.fromCharCode(96 + Number(az))}`,
    ),
  );

// Every region moves to one no scenario uses; zone names and IDs follow their region.
const REGION_MOVES: Record<string, string> = {
  'us-east-1': 'ap-southeast-3',
  'us-east-2': 'eu-south-2',
  'us-west-1': 'ap-south-2',
  'us-west-2': 'eu-central-2',
  'eu-west-1': 'ap-southeast-4',
  'eu-west-2': 'il-central-1',
  'eu-west-3': 'me-south-1',
  'eu-central-1': 'me-central-1',
  'ap-southeast-1': 'ca-west-1',
  'ap-southeast-2': 'af-south-1',
  'ap-northeast-1': 'sa-east-1',
  'ap-northeast-3': 'ap-east-1',
  'ca-central-1': 'eu-north-1',
  eastus2: 'swedencentral',
  eastus: 'norwayeast',
  westus2: 'polandcentral',
  westus3: 'italynorth',
  centralus: 'spaincentral',
  westeurope: 'koreacentral',
  northeurope: 'japanwest',
  germanywestcentral: 'uaenorth',
  australiaeast: 'southafricanorth',
  japaneast: 'brazilsouth',
};
export const regionsRenamed: Transform = (doc) => {
  const pairs = Object.entries(REGION_MOVES).flatMap(([from, to]) => {
    const out: Array<[RegExp, string]> = [[new RegExp(`\\b${from}(?=[a-f]?\\b)`, 'gi'), to]];
    if (from.includes('-'))
      out.push([new RegExp(`\\b${zoneIdPrefix(from)}(?=-az\\d)`, 'gi'), zoneIdPrefix(to)]);
    return out;
  });
  const spaced = (s: string): string =>
    s.replace(/\b(east|west|central) us( \d)?\b/gi, (m) => m.replace(/ /g, '').toLowerCase());
  return mapStrings(doc, (s) =>
    pairs.reduce(
      (text, [from, to]) =>
        text.replace(from, (m) => (m === m.toUpperCase() && /[a-z]/i.test(m) ? to.toUpperCase() : to)),
      spaced(s),
    ),
  );
};

function eachSignal(
  doc: ScenarioDoc,
  change: (name: string, signal: Record<string, unknown>) => void,
): ScenarioDoc {
  const copy = structuredClone(doc);
  for (const step of copy.steps)
    for (const [name, signal] of Object.entries(step.signals ?? {})) change(name, signal);
  return copy;
}

/** Details the live probes would write instead of the author's prose (kubernetes.ts, ec2.ts). */
export const probeDetails: Transform = (doc) =>
  eachSignal(doc, (name, s) => {
    const ready = s.ready as number | undefined;
    const total = s.total as number | undefined;
    if (name === 'eks_nodes' && ready !== undefined && total !== undefined) {
      const notes: string[] = [];
      if (total === 0) notes.push('the cluster lists no nodes');
      if (total > ready)
        notes.push(
          `${total - ready}/${total} nodes not Ready: ${Array.from({ length: Math.min(5, total - ready) }, (_, i) => `ip-10-0-${i}-7.ec2.internal`).join(', ')}`,
        );
      if (typeof s.crashlooping === 'number' && s.crashlooping > 0)
        notes.push(`${s.crashlooping} pods in CrashLoopBackOff`);
      s.detail = notes.join('; ');
    }
    if (name === 'aws_cross_region' && s.status === 'error')
      s.detail = 'primary: RequestTimeout: connect ETIMEDOUT';
  });

/** Structured facts that restate the counts (vantages, failing services, API checks) are added. */
export const structuredAdded: Transform = (doc) =>
  eachSignal(doc, (name, s) => {
    const up = s.up as number | undefined;
    const total = s.total as number | undefined;
    if (name === 'external_uptime' && up !== undefined && total !== undefined && !s.vantages)
      s.vantages = Array.from({ length: total }, (_, i) => ({ name: `vantage-${i + 1}`, up: i < up }));
    const healthy = s.healthy as number | undefined;
    if (name === 'internal_services' && healthy !== undefined && total !== undefined && !s.failing)
      s.failing = Array.from({ length: Math.max(0, total - healthy) }, (_, i) => ({
        name: `service-${i + 1}`,
      }));
    if (name === 'aws_cross_region' && !s.checks && (s.status === 'ok' || s.status === 'error'))
      s.checks = [
        {
          from: 'another-region',
          service: 'ec2',
          ok: s.status === 'ok' ? 5 : 0,
          total: 5,
          ...(s.status === 'error' ? { error: 'timeout' } : {}),
        },
      ];
  });

/** Every structured fact is removed: only counts and prose remain. */
export const structuredRemoved: Transform = (doc) =>
  eachSignal(doc, (_, s) => {
    for (const key of ['zones', 'crashlooping', 'checks', 'vantages', 'failing']) delete s[key];
  });

// The same event in another vendor's (or the same vendor's other) wording.
const REWORDINGS: Array<[RegExp, string]> = [
  [/\bconnection refused\b/gi, 'ECONNREFUSED'],
  [/\bi\/o timeout\b/gi, 'ETIMEDOUT'],
  [/\bno such host\b/gi, 'NXDOMAIN'],
  [/\bNodeNotReady\b/g, 'Kubelet stopped posting node status'],
  [/\bOOMKilled\b/g, 'Out of memory: Killed process'],
  [/\bdeadlock detected\b/gi, 'SQLSTATE 40P01'],
  [/\bcertificate has expired\b/gi, 'CERT_HAS_EXPIRED'],
  [/\bServiceUnavailable\b/g, 'Service Unavailable (HTTP 503)'],
  [/\bNullPointerException\b/g, 'NullReferenceException'],
  [/\bno space left on device\b/gi, 'ENOSPC'],
];
export const logsReworded: Transform = (doc) => {
  const copy = structuredClone(doc);
  for (const step of copy.steps)
    for (const entry of step.context?.logs ?? [])
      if (entry.line)
        entry.line = REWORDINGS.reduce((line, [from, to]) => line.replace(from, to), entry.line);
  return copy;
};

/** Log lines, details and incident texts in upper case; logs, events, incidents and changes in reverse order. */
export const casingAndOrder: Transform = (doc) => {
  const copy = structuredClone(doc);
  for (const step of copy.steps) {
    for (const s of Object.values(step.signals ?? {}))
      if (typeof s.detail === 'string') s.detail = s.detail.toUpperCase();
    const ctx = step.context;
    if (!ctx) continue;
    if (ctx.logs) ctx.logs = [...ctx.logs].reverse().map((l) => ({ ...l, line: l.line?.toUpperCase() }));
    if (Array.isArray(ctx.changes)) ctx.changes = [...ctx.changes].reverse();
    const health = ctx.aws_health as { events?: unknown[] } | undefined;
    if (health?.events) health.events = [...health.events].reverse();
  }
  return copy;
};

export const VARIANTS: Record<string, Transform> = {
  'zone names → zone IDs': zoneNamesToIds,
  'zone IDs → zone names': zoneIdsToNames,
  'every region renamed': regionsRenamed,
  'details in the probes’ own formats': probeDetails,
  'structured facts added': structuredAdded,
  'structured facts removed': structuredRemoved,
  'log lines reworded': logsReworded,
  'casing and order changed': casingAndOrder,
};
