import { rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { request } from 'undici';
import { endpointCheck, envCheck, sleep, tcpReachable } from '../shared/net.js';
import { findExecutable, runProcess } from '../shared/process.js';
import {
  StepError,
  type PreflightCheck,
  type StepAdapter,
  type StepContext,
  type StepResult,
} from '../types.js';
import {
  dnsParamsSchema,
  type CloudflareParams,
  type DnsParams,
  type Rfc2136Params,
  type Route53Params,
} from './config.js';
import { arcPreflight, arcSwitch } from './arc.js';
import { recordSetFor, replaceableCheck, sameNameAndType } from './route53-routing.js';
import { azureDnsPreflight, azureDnsSet, trafficManagerPreflight, trafficManagerSwitch } from './azure.js';

const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`);
const bare = (name: string) => name.replace(/\.$/, '');

export function route53Client(p: Route53Params): Route53Client {
  return new Route53Client({
    region: p.region,
    endpoint: p.endpoint,
    credentials:
      p.access_key_id && p.secret_access_key
        ? { accessKeyId: p.access_key_id, secretAccessKey: p.secret_access_key }
        : undefined,
    maxAttempts: 3,
  });
}

export function awsMessage(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return `${e.$metadata?.httpStatusCode ? `HTTP ${e.$metadata.httpStatusCode} ` : ''}${e.name ?? ''}: ${e.message ?? String(error)}`;
}

/** UPSERT (create or replace: safe to repeat), then wait for INSYNC. */
async function route53(p: Route53Params, ctx: StepContext): Promise<StepResult> {
  const client = route53Client(p);
  try {
    let change;
    try {
      // A routed record is replaced with its policy, which only Route 53 knows: read it first.
      const current = p.set_identifier === undefined ? [] : await sameNameAndType(client, p, ctx.signal);
      change = await client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: p.hosted_zone_id,
          ChangeBatch: {
            Comment: `CloudPhoenix ${ctx.runId} ${ctx.step}`,
            Changes: [{ Action: 'UPSERT', ResourceRecordSet: recordSetFor(p, current) }],
          },
        }),
        { abortSignal: ctx.signal },
      );
    } catch (error) {
      if (error instanceof StepError) throw error;
      throw new StepError(`Route 53 refused the change to ${p.name}: ${awsMessage(error)}`);
    }
    const id = change.ChangeInfo?.Id ?? '';
    let status = change.ChangeInfo?.Status ?? 'PENDING';
    ctx.progress(`change ${id} ${status}`);
    while (p.wait && status !== 'INSYNC') {
      await sleep(p.poll_interval * 1000, ctx.signal);
      const got = await client.send(new GetChangeCommand({ Id: id }), { abortSignal: ctx.signal });
      status = got.ChangeInfo?.Status ?? status;
      ctx.progress(`change ${id} ${status}`);
    }
    return {
      summary: `Route 53 ${p.name} ${p.type}${p.set_identifier ? ` (${p.set_identifier})` : ''} → ${p.value.join(', ')} (TTL ${p.ttl}s), change ${id} ${status}`,
      output: { change_id: id, status, ttl: p.ttl },
      dnsTtlS: p.ttl,
    };
  } finally {
    client.destroy();
  }
}

/** Asks one server directly (no cache) until it answers with the values. */
export async function waitForAnswer(
  server: string,
  port: number,
  name: string,
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT',
  values: string[],
  signal: AbortSignal,
): Promise<string[]> {
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([port === 53 ? server : `${server.includes(':') ? `[${server}]` : server}:${port}`]);
  const want = [...values].map((v) => bare(v.toLowerCase())).sort();
  let last: string[] = [];
  for (;;) {
    try {
      if (type === 'TXT') last = (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
      else if (type === 'CNAME') last = await resolver.resolveCname(name);
      else last = type === 'A' ? await resolver.resolve4(name) : await resolver.resolve6(name);
    } catch {
      last = [];
    }
    const got = last.map((v) => bare(v.toLowerCase())).sort();
    if (got.join(',') === want.join(',')) return last;
    await sleep(200, signal);
  }
}

/** RFC 2136 dynamic update signed with TSIG, through nsupdate; delete-then-add in one update is safe to repeat. */
async function rfc2136(p: Rfc2136Params, ctx: StepContext): Promise<StepResult> {
  // The key goes in a file readable only by us, never on a command line.
  const keyFile = join(ctx.workDir, 'tsig.key');
  writeFileSync(
    keyFile,
    `key "${p.tsig.name}" {\n  algorithm ${p.tsig.algorithm};\n  secret "${p.tsig.secret}";\n};\n`,
    { mode: 0o600 },
  );
  const name = fqdn(p.name);
  const values = p.type === 'TXT' ? p.value.map((v) => JSON.stringify(v)) : p.value;
  const script = [
    `server ${p.server} ${p.port}`,
    `zone ${fqdn(p.zone)}`,
    // A CNAME cannot share its name with other data (RFC 1034 §3.6.2): BIND answers NOERROR and ignores
    // a CNAME added beside an A record, so the old data goes in the same update, and the reverse.
    p.type === 'CNAME' ? `update delete ${name}` : `update delete ${name} ${p.type}`,
    ...(p.type === 'CNAME' ? [] : [`update delete ${name} CNAME`]),
    ...values.map((v) => `update add ${name} ${p.ttl} ${p.type} ${v}`),
    'send',
    '',
  ].join('\n');
  let result;
  try {
    result = await runProcess(p.nsupdate, ['-k', keyFile, '-t', '10'], {
      input: script,
      signal: ctx.signal,
      allowFailure: true,
    });
  } finally {
    // The secret is needed only for the update itself.
    rmSync(keyFile, { force: true });
  }
  if (result.code !== 0) {
    const why = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-2).join(' | ');
    throw new StepError(
      `nsupdate to ${p.server}:${p.port} failed: ${why || `exit ${result.code}`}; check the TSIG key and the zone's update policy`,
    );
  }
  let answer: string[] | undefined;
  if (p.verify) {
    ctx.progress(`waiting for ${p.server} to answer ${p.name} with ${p.value.join(', ')}`);
    const verifying = AbortSignal.any([ctx.signal, AbortSignal.timeout(15_000)]);
    try {
      answer = await waitForAnswer(p.server, p.port, bare(p.name), p.type, p.value, verifying);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      throw new StepError(
        `${p.server} accepted the update but does not answer ${bare(p.name)} ${p.type} with ${p.value.join(', ')} after 15 s; check the zone's update policy and what else the name holds`,
      );
    }
  }
  return {
    summary: `RFC 2136 update on ${p.server}:${p.port}: ${bare(p.name)} ${p.type} → ${p.value.join(', ')} (TTL ${p.ttl}s)${answer ? ', server answers with it' : ''}`,
    output: { answer: answer ?? null, ttl: p.ttl },
    dnsTtlS: p.ttl,
  };
}

interface CloudflareEnvelope<T> {
  success: boolean;
  errors?: Array<{ code: number; message: string }>;
  result: T;
}

export async function cloudflareCall<T>(
  p: CloudflareParams,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const res = await request(`${p.api_base.replace(/\/$/, '')}${path}`, {
    method,
    headers: { authorization: `Bearer ${p.api_token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await res.body.text();
  let parsed: CloudflareEnvelope<T>;
  try {
    parsed = JSON.parse(text) as CloudflareEnvelope<T>;
  } catch {
    throw new StepError(
      `Cloudflare answered ${method} ${path} with HTTP ${res.statusCode} and no JSON: ${text.slice(0, 120)}`,
    );
  }
  if (!parsed.success || res.statusCode >= 400) {
    const why =
      (parsed.errors ?? []).map((e) => `${e.code} ${e.message}`).join('; ') || `HTTP ${res.statusCode}`;
    throw new StepError(`Cloudflare refused ${method} ${path}: ${why}`);
  }
  return parsed.result;
}

export interface CloudflareRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  proxied?: boolean;
}

/**
 * Makes the set of records with this name and type hold exactly the values:
 * every matching record is updated (not only the first), extra ones are
 * deleted, missing ones created. A repeat changes nothing.
 */
async function cloudflare(p: CloudflareParams, ctx: StepContext): Promise<StepResult> {
  const name = bare(p.name);
  const base = `/zones/${encodeURIComponent(p.zone_id)}/dns_records`;
  const existing = await cloudflareCall<CloudflareRecord[]>(
    p,
    'GET',
    `${base}?type=${p.type}&name=${encodeURIComponent(name)}&per_page=100`,
    undefined,
    ctx.signal,
  );
  const same = (r: CloudflareRecord, content: string): boolean =>
    r.content === content && r.ttl === p.ttl && Boolean(r.proxied) === p.proxied;
  const wanted = [...p.value];
  const keep = existing.filter((r) => {
    const i = wanted.findIndex((v) => same(r, v));
    if (i < 0) return false;
    wanted.splice(i, 1);
    return true;
  });
  const spare = existing.filter((r) => !keep.includes(r));
  const did: string[] = [];
  for (const content of wanted) {
    const body = { type: p.type, name, content, ttl: p.ttl, proxied: p.proxied };
    const reuse = spare.shift();
    if (reuse) await cloudflareCall(p, 'PUT', `${base}/${reuse.id}`, body, ctx.signal);
    else await cloudflareCall(p, 'POST', base, body, ctx.signal);
    did.push(reuse ? `updated ${reuse.content} → ${content}` : `created ${content}`);
  }
  for (const extra of spare) {
    await cloudflareCall(p, 'DELETE', `${base}/${extra.id}`, undefined, ctx.signal);
    did.push(`deleted ${extra.content}`);
  }
  return {
    summary: `Cloudflare ${name} ${p.type} → ${p.value.join(', ')} (TTL ${p.ttl}s): ${did.length ? did.join(', ') : 'already set'}`,
    output: { record: name, changes: did, ttl: p.ttl },
    // Proxied records are answered by Cloudflare's edge at once; the TTL still bounds resolvers' caches of the old answer.
    dnsTtlS: p.ttl,
  };
}

/**
 * What Route 53 would refuse at failover time: a CNAME at the zone apex, or a
 * CNAME beside other records of the same name (an ALB alias A, say) and the
 * reverse (InvalidChangeBatch, "conflicts with other records"; RFC 1034 §3.6.2).
 */
async function route53Conflicts(
  client: Route53Client,
  p: Route53Params,
  zoneName: string,
  timeoutMs: number,
): Promise<PreflightCheck[]> {
  const name = fqdn(p.name).toLowerCase();
  if (p.type === 'CNAME' && name === zoneName.toLowerCase())
    return [
      {
        check: 'no CNAME at the zone apex',
        ok: false,
        detail: `${name} is the apex of ${zoneName}: a CNAME is not allowed there; use an alias A record, ARC routing controls or Traffic Manager`,
      },
    ];
  const listed = await client.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: p.hosted_zone_id,
      StartRecordName: name,
      MaxItems: 20,
    }),
    {
      abortSignal: AbortSignal.timeout(timeoutMs),
    },
  );
  const others = (listed.ResourceRecordSets ?? []).filter(
    (r) =>
      (r.Name ?? '').toLowerCase() === name &&
      r.Type !== p.type &&
      (p.type === 'CNAME' || r.Type === 'CNAME'),
  );
  const what = others
    .map((r) => `${r.Type}${r.AliasTarget ? ` alias to ${r.AliasTarget.DNSName}` : ''}`)
    .join(', ');
  return [
    {
      check: 'no record the change conflicts with',
      ok: others.length === 0,
      detail: others.length
        ? `${name} holds ${what}; Route 53 refuses a ${p.type} beside it (conflicts with other records): delete it in the same change, or switch with ARC or Traffic Manager`
        : `nothing at ${name} conflicts with a ${p.type}`,
    },
  ];
}

async function preflight(
  p: DnsParams,
  ctx: { timeoutMs: number; env: NodeJS.ProcessEnv },
): Promise<PreflightCheck[]> {
  if (p.provider === 'route53') {
    const client = route53Client(p);
    try {
      const zone = await client.send(new GetHostedZoneCommand({ Id: p.hosted_zone_id }), {
        abortSignal: AbortSignal.timeout(ctx.timeoutMs),
      });
      const zoneName = zone.HostedZone?.Name ?? '';
      const inZone = fqdn(p.name).endsWith(zoneName);
      return [
        {
          check: 'hosted zone readable',
          ok: true,
          detail: `${p.hosted_zone_id} is ${zoneName}`,
        },
        {
          check: 'record inside the zone',
          ok: inZone,
          detail: inZone ? fqdn(p.name) : `${p.name} is not inside ${zoneName}`,
        },
        ...(inZone ? await route53Conflicts(client, p, zoneName, ctx.timeoutMs) : []),
        ...(inZone
          ? [replaceableCheck(p, await sameNameAndType(client, p, AbortSignal.timeout(ctx.timeoutMs)))]
          : []),
      ];
    } catch (error) {
      return [{ check: 'hosted zone readable', ok: false, detail: awsMessage(error) }];
    } finally {
      client.destroy();
    }
  }
  if (p.provider === 'azure_traffic_manager') return trafficManagerPreflight(p, ctx.timeoutMs);
  if (p.provider === 'azure_dns') return azureDnsPreflight(p, ctx.timeoutMs);
  if (p.provider === 'route53_arc') return arcPreflight(p, ctx.timeoutMs);
  if (p.provider === 'rfc2136') {
    const found = findExecutable(p.nsupdate, ctx.env);
    const reach = await tcpReachable(p.server, p.port, ctx.timeoutMs);
    return [
      {
        check: `${p.nsupdate} present`,
        ok: Boolean(found),
        detail: found ?? `${p.nsupdate} not found; install bind9-dnsutils`,
      },
      { check: 'DNS server reachable', ok: reach.ok, detail: reach.detail },
      ...envCheck([['TSIG secret', p.tsig.secret]]),
    ];
  }
  const reach = await endpointCheck('Cloudflare API', p.api_base, ctx.timeoutMs);
  if (!reach.ok) return [reach];
  try {
    const zone = await cloudflareCall<{ name: string; status: string }>(
      p,
      'GET',
      `/zones/${encodeURIComponent(p.zone_id)}`,
      undefined,
      AbortSignal.timeout(ctx.timeoutMs),
    );
    return [
      reach,
      { check: 'zone readable with the token', ok: true, detail: `${zone.name} (${zone.status})` },
    ];
  } catch (error) {
    return [reach, { check: 'zone readable with the token', ok: false, detail: (error as Error).message }];
  }
}

export const dnsAdapter: StepAdapter<DnsParams> = {
  type: 'dns',
  schema: dnsParamsSchema,
  describe,
  preflight,
  run: (p, ctx) => {
    switch (p.provider) {
      case 'route53':
        return route53(p, ctx);
      case 'rfc2136':
        return rfc2136(p, ctx);
      case 'cloudflare':
        return cloudflare(p, ctx);
      case 'azure_traffic_manager':
        return trafficManagerSwitch(p, ctx);
      case 'azure_dns':
        return azureDnsSet(p, ctx);
      case 'route53_arc':
        return arcSwitch(p, ctx);
    }
  },
};

function describe(p: DnsParams): string {
  if (p.provider === 'azure_traffic_manager')
    return `Traffic Manager ${p.profile}: ${[
      p.enable.length ? `enable ${p.enable.join(', ')}` : '',
      ...Object.entries(p.priorities).map(([name, priority]) => `${name} priority ${priority}`),
      p.disable.length ? `disable ${p.disable.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(', ')}`;
  if (p.provider === 'route53_arc')
    return `ARC routing controls (data plane): ${p.routing_controls.map((c) => `${c.arn.split('/').pop()}=${c.state}`).join(', ')}`;
  return `${p.provider}: point ${bare(p.name)} ${p.type} at ${p.value.join(', ')} (TTL ${p.ttl}s)`;
}
