import { rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
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

const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`);
const bare = (name: string) => name.replace(/\.$/, '');

function route53Client(p: Route53Params): Route53Client {
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

function awsMessage(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return `${e.$metadata?.httpStatusCode ? `HTTP ${e.$metadata.httpStatusCode} ` : ''}${e.name ?? ''}: ${e.message ?? String(error)}`;
}

/** UPSERT (create or replace: safe to repeat), then wait for INSYNC. */
async function route53(p: Route53Params, ctx: StepContext): Promise<StepResult> {
  const client = route53Client(p);
  try {
    const values = p.type === 'TXT' ? p.value.map((v) => JSON.stringify(v)) : p.value;
    let change;
    try {
      change = await client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: p.hosted_zone_id,
          ChangeBatch: {
            Comment: `CloudPhoenix ${ctx.runId} ${ctx.step}`,
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: fqdn(p.name),
                  Type: p.type,
                  TTL: p.ttl,
                  ResourceRecords: values.map((Value) => ({ Value })),
                },
              },
            ],
          },
        }),
        { abortSignal: ctx.signal },
      );
    } catch (error) {
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
      summary: `Route 53 ${p.name} ${p.type} → ${p.value.join(', ')} (TTL ${p.ttl}s), change ${id} ${status}`,
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
    `update delete ${name} ${p.type}`,
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
    answer = await waitForAnswer(p.server, p.port, bare(p.name), p.type, p.value, ctx.signal);
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

async function cloudflareCall<T>(
  p: CloudflareParams,
  method: 'GET' | 'POST' | 'PUT',
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

interface CloudflareRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  proxied?: boolean;
}

/** Finds the record by name and type and updates it (or creates it): safe to repeat. */
async function cloudflare(p: CloudflareParams, ctx: StepContext): Promise<StepResult> {
  if (p.value.length !== 1)
    throw new StepError('a Cloudflare dns step takes one value; write one step per record');
  const name = bare(p.name);
  const base = `/zones/${encodeURIComponent(p.zone_id)}/dns_records`;
  const existing = await cloudflareCall<CloudflareRecord[]>(
    p,
    'GET',
    `${base}?type=${p.type}&name=${encodeURIComponent(name)}`,
    undefined,
    ctx.signal,
  );
  const body = { type: p.type, name, content: p.value[0], ttl: p.ttl, proxied: p.proxied };
  const current = existing[0];
  let did: string;
  if (
    current &&
    current.content === body.content &&
    current.ttl === body.ttl &&
    Boolean(current.proxied) === body.proxied
  ) {
    did = 'already set';
  } else if (current) {
    await cloudflareCall(p, 'PUT', `${base}/${current.id}`, body, ctx.signal);
    did = `updated from ${current.content}`;
  } else {
    await cloudflareCall(p, 'POST', base, body, ctx.signal);
    did = 'created';
  }
  return {
    summary: `Cloudflare ${name} ${p.type} → ${p.value[0]} (TTL ${p.ttl}s): ${did}`,
    output: { record: name, action: did, ttl: p.ttl },
    // Proxied records are answered by Cloudflare's edge at once; the TTL still bounds resolvers' caches of the old answer.
    dnsTtlS: p.ttl,
  };
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
      const inZone = fqdn(p.name).endsWith(zone.HostedZone?.Name ?? '');
      return [
        {
          check: 'hosted zone readable',
          ok: true,
          detail: `${p.hosted_zone_id} is ${zone.HostedZone?.Name}`,
        },
        {
          check: 'record inside the zone',
          ok: inZone,
          detail: inZone ? fqdn(p.name) : `${p.name} is not inside ${zone.HostedZone?.Name}`,
        },
      ];
    } catch (error) {
      return [{ check: 'hosted zone readable', ok: false, detail: awsMessage(error) }];
    } finally {
      client.destroy();
    }
  }
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
  describe: (p) => `${p.provider}: point ${bare(p.name)} ${p.type} at ${p.value.join(', ')} (TTL ${p.ttl}s)`,
  preflight,
  run: (p, ctx) =>
    p.provider === 'route53'
      ? route53(p, ctx)
      : p.provider === 'rfc2136'
        ? rfc2136(p, ctx)
        : cloudflare(p, ctx),
};
