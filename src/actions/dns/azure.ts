import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { EndpointType } from '@azure/arm-trafficmanager';
import { StepError, type PreflightCheck, type StepContext, type StepResult } from '../types.js';
import type { AzureDnsParams, TrafficManagerParams } from './config.js';

type ArmAccess = Pick<TrafficManagerParams, 'access_token' | 'arm_endpoint' | 'ca_file'>;

/** A fixed bearer token (from ${VAR}) as a TokenCredential. */
function staticToken(token: string): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
}

/** The credential and client options both ARM clients take. */
async function armOptions(p: ArmAccess): Promise<{
  credential: TokenCredential;
  options: { endpoint?: string; additionalPolicies?: { policy: PipelinePolicy; position: 'perCall' }[] };
}> {
  // Managed identity, workload identity, az login...: whatever the controller runs with.
  const credential = p.access_token
    ? staticToken(p.access_token)
    : new (await import('@azure/identity')).DefaultAzureCredential();
  const options: Awaited<ReturnType<typeof armOptions>>['options'] = {};
  if (p.arm_endpoint) options.endpoint = p.arm_endpoint.replace(/\/$/, '');
  if (p.ca_file) {
    const agent = new Agent({ ca: readFileSync(p.ca_file), keepAlive: true });
    options.additionalPolicies = [
      {
        position: 'perCall',
        policy: {
          name: 'phoenix-ca',
          sendRequest: (request, next) => next(Object.assign(request, { agent })),
        },
      },
    ];
  }
  return { credential, options };
}

export function armMessage(error: unknown): string {
  const e = error as { statusCode?: number; code?: string; message?: string };
  return `${e.statusCode ? `HTTP ${e.statusCode} ` : ''}${e.code ?? ''}${e.code ? ': ' : ''}${(e.message ?? String(error)).split('\n')[0]}`;
}

async function trafficManagerClient(p: TrafficManagerParams) {
  const { TrafficManagerManagementClient } = await import('@azure/arm-trafficmanager');
  const { credential, options } = await armOptions(p);
  return new TrafficManagerManagementClient(credential, p.subscription_id, options);
}

type TrafficManagerClient = Awaited<ReturnType<typeof trafficManagerClient>>;

/**
 * The PATCHes that give each endpoint its wanted priority without two ever
 * holding the same one (ARM refuses that in Priority routing): an endpoint
 * holding a value another wants moves to a free value first. Only endpoints
 * named in `priorities` are touched; one not named that holds a wanted value
 * is an error naming the fix.
 */
export function priorityMoves(
  current: Map<string, number>,
  wanted: Record<string, number>,
): Array<[string, number]> {
  for (const [name, priority] of Object.entries(wanted)) {
    const holder = [...current].find(([other, p]) => other !== name && p === priority)?.[0];
    if (holder && !(holder in wanted))
      throw new StepError(
        `priority ${priority} is held by endpoint ${holder}, not named in priorities; give it a priority too`,
      );
  }
  const state = new Map(current);
  const holds = (priority: number) => [...state.values()].includes(priority);
  const pending = () => Object.entries(wanted).filter(([name, p]) => state.get(name) !== p);
  const moves: Array<[string, number]> = [];
  const move = (name: string, priority: number) => {
    state.set(name, priority);
    moves.push([name, priority]);
  };
  while (pending().length) {
    const ready = pending().find(([, p]) => !holds(p));
    if (ready) {
      move(...ready);
      continue;
    }
    // Every wanted value is held by another endpoint that moves too (a swap): the one going furthest
    // down (the primary) steps aside first, so the DR endpoint is never behind it again.
    let aside = 1000;
    while (holds(aside) || Object.values(wanted).includes(aside)) aside--;
    if (aside < 1) throw new StepError('no free Traffic Manager priority left to move an endpoint aside');
    move(pending().sort((a, b) => b[1] - a[1])[0]![0], aside);
  }
  return moves;
}

/** Endpoint name → its type (AzureEndpoints, ExternalEndpoints, NestedEndpoints), as the profile lists them. */
type EndpointTypes = Map<string, EndpointType>;

/**
 * Each endpoint's type, read from the profile: an endpoint is addressed under its own type, and a profile may
 * mix them (an Azure endpoint for the DR site beside an external one for AWS). `endpoint_type` is only the
 * fallback for an endpoint the profile lists without one.
 */
async function endpointTypes(client: TrafficManagerClient, p: TrafficManagerParams, signal: AbortSignal) {
  const profile = await client.profiles
    .get(p.resource_group, p.profile, { abortSignal: signal })
    .catch((error: unknown) => {
      throw new StepError(`Traffic Manager profile ${p.profile} is not readable: ${armMessage(error)}`);
    });
  const types: EndpointTypes = new Map();
  for (const e of profile.endpoints ?? []) {
    const kind = /\/(\w+)$/.exec(e.type ?? '')?.[1];
    types.set(
      e.name ?? '',
      (kind
        ? kind[0].toUpperCase() + kind.slice(1)
        : (p.endpoint_type ?? 'ExternalEndpoints')) as EndpointType,
    );
  }
  return types;
}

function typeOf(types: EndpointTypes, p: TrafficManagerParams, name: string): EndpointType {
  const type = types.get(name);
  if (!type)
    throw new StepError(
      `endpoint ${name} is not in the Traffic Manager profile ${p.profile} (it has: ${[...types.keys()].join(', ') || 'none'})`,
    );
  return type;
}

async function patchEndpoint(
  client: TrafficManagerClient,
  p: TrafficManagerParams,
  types: EndpointTypes,
  name: string,
  change: { endpointStatus?: 'Enabled' | 'Disabled'; priority?: number },
  signal: AbortSignal,
): Promise<void> {
  try {
    await client.endpoints.update(p.resource_group, p.profile, typeOf(types, p, name), name, change, {
      abortSignal: signal,
    });
  } catch (error) {
    if (error instanceof StepError) throw error;
    const what = change.endpointStatus ?? `priority ${change.priority}`;
    throw new StepError(`Traffic Manager refused ${what} of ${p.profile}/${name}: ${armMessage(error)}`);
  }
}

async function setStatus(
  client: TrafficManagerClient,
  p: TrafficManagerParams,
  types: EndpointTypes,
  ctx: StepContext,
  name: string,
  endpointStatus: 'Enabled' | 'Disabled',
): Promise<string> {
  let current;
  try {
    current = await client.endpoints.get(p.resource_group, p.profile, typeOf(types, p, name), name, {
      abortSignal: ctx.signal,
    });
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(
      `Traffic Manager refused ${endpointStatus} of ${p.profile}/${name}: ${armMessage(error)}`,
    );
  }
  if (current.endpointStatus === endpointStatus) return `${name} already ${endpointStatus}`;
  await patchEndpoint(client, p, types, name, { endpointStatus }, ctx.signal);
  ctx.progress(`${p.profile}/${name} ${endpointStatus}`);
  return `${name} ${endpointStatus}`;
}

/**
 * Enables the DR endpoints, sets the wanted priorities, then disables the
 * primary ones, in a Traffic Manager profile the public name already points
 * at: enable first, so the profile never has no endpoint to answer with.
 * Each PATCH sets a state, so a repeat changes nothing.
 */
export async function trafficManagerSwitch(p: TrafficManagerParams, ctx: StepContext): Promise<StepResult> {
  const client = await trafficManagerClient(p);
  const types = await endpointTypes(client, p, ctx.signal);
  const did: string[] = [];
  for (const name of p.enable) did.push(await setStatus(client, p, types, ctx, name, 'Enabled'));
  if (Object.keys(p.priorities).length) {
    const before = await client.profiles.get(p.resource_group, p.profile, { abortSignal: ctx.signal });
    const current = new Map((before.endpoints ?? []).map((e) => [e.name ?? '', e.priority ?? 0]));
    const moves = priorityMoves(current, p.priorities);
    for (const [name, priority] of moves) {
      await patchEndpoint(client, p, types, name, { priority }, ctx.signal);
      ctx.progress(`${p.profile}/${name} priority ${priority}`);
    }
    did.push(
      ...Object.entries(p.priorities).map(([name, priority]) =>
        current.get(name) === priority
          ? `${name} already priority ${priority}`
          : `${name} priority ${priority}`,
      ),
    );
  }
  for (const name of p.disable) did.push(await setStatus(client, p, types, ctx, name, 'Disabled'));
  const profile = await client.profiles.get(p.resource_group, p.profile, { abortSignal: ctx.signal });
  const ttl = profile.dnsConfig?.ttl ?? 60;
  return {
    summary: `Traffic Manager ${p.profile} (${profile.dnsConfig?.fqdn ?? '?'}): ${did.join(', ')} (TTL ${ttl}s)`,
    output: { profile: p.profile, fqdn: profile.dnsConfig?.fqdn ?? null, changes: did, ttl },
    dnsTtlS: ttl,
  };
}

export async function trafficManagerPreflight(
  p: TrafficManagerParams,
  timeoutMs: number,
): Promise<PreflightCheck[]> {
  const client = await trafficManagerClient(p);
  try {
    const profile = await client.profiles.get(p.resource_group, p.profile, {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    const names = new Set((profile.endpoints ?? []).map((e) => e.name));
    const missing = [...p.enable, ...p.disable, ...Object.keys(p.priorities)].filter((n) => !names.has(n));
    return [
      {
        check: 'Traffic Manager profile readable',
        ok: true,
        detail: `${p.profile}: ${profile.dnsConfig?.fqdn}`,
      },
      {
        check: 'endpoints exist in the profile',
        ok: missing.length === 0,
        detail: missing.length ? `not in ${p.profile}: ${missing.join(', ')}` : [...names].join(', '),
      },
    ];
  } catch (error) {
    return [{ check: 'Traffic Manager profile readable', ok: false, detail: armMessage(error) }];
  }
}

export async function dnsClient(p: AzureDnsParams) {
  const { DnsManagementClient } = await import('@azure/arm-dns');
  const { credential, options } = await armOptions(p);
  return new DnsManagementClient(credential, p.subscription_id, options);
}

/** The record's name relative to the zone, `@` at the apex. */
export function relativeName(name: string, zone: string): string | undefined {
  const n = name.replace(/\.$/, '').toLowerCase();
  const z = zone.replace(/\.$/, '').toLowerCase();
  if (n === z) return '@';
  return n.endsWith(`.${z}`) ? n.slice(0, -(z.length + 1)) : undefined;
}

/** PUT of the record set (create or replace: safe to repeat). */
export async function azureDnsSet(p: AzureDnsParams, ctx: StepContext): Promise<StepResult> {
  const relative = relativeName(p.name, p.zone);
  if (!relative) throw new StepError(`${p.name} is not inside the zone ${p.zone}`);
  const client = await dnsClient(p);
  const body =
    p.type === 'A'
      ? { ttl: p.ttl, aRecords: p.value.map((ipv4Address) => ({ ipv4Address })) }
      : p.type === 'AAAA'
        ? { ttl: p.ttl, aaaaRecords: p.value.map((ipv6Address) => ({ ipv6Address })) }
        : p.type === 'CNAME'
          ? { ttl: p.ttl, cnameRecord: { cname: p.value[0] } }
          : { ttl: p.ttl, txtRecords: p.value.map((v) => ({ value: [v] })) };
  try {
    await client.recordSets.createOrUpdate(p.resource_group, p.zone, relative, p.type, body, {
      abortSignal: ctx.signal,
    });
  } catch (error) {
    throw new StepError(`Azure DNS refused ${p.type} ${p.name}: ${armMessage(error)}`);
  }
  return {
    summary: `Azure DNS ${p.name} ${p.type} → ${p.value.join(', ')} (TTL ${p.ttl}s)`,
    output: { zone: p.zone, record: relative, ttl: p.ttl },
    dnsTtlS: p.ttl,
  };
}

export async function azureDnsPreflight(p: AzureDnsParams, timeoutMs: number): Promise<PreflightCheck[]> {
  const client = await dnsClient(p);
  try {
    const zone = await client.zones.get(p.resource_group, p.zone, {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    return [
      {
        check: 'Azure DNS zone readable',
        ok: true,
        detail: `${zone.name} (${zone.numberOfRecordSets} sets)`,
      },
      await azureDnsConflicts(client, p, timeoutMs),
    ];
  } catch (error) {
    return [{ check: 'Azure DNS zone readable', ok: false, detail: armMessage(error) }];
  }
}

/**
 * What Azure DNS would refuse at failover time: a CNAME at the apex, a CNAME beside other record sets of the
 * same name, or another type beside a CNAME (RFC 1034 §3.6.2), read from the zone's record sets.
 */
async function azureDnsConflicts(
  client: Awaited<ReturnType<typeof dnsClient>>,
  p: AzureDnsParams,
  timeoutMs: number,
): Promise<PreflightCheck> {
  const check = 'no record the change conflicts with';
  const relative = relativeName(p.name, p.zone);
  if (!relative) return { check, ok: false, detail: `${p.name} is not inside the zone ${p.zone}` };
  if (p.type === 'CNAME' && relative === '@')
    return {
      check,
      ok: false,
      detail: `${p.name} is the apex of ${p.zone}: Azure DNS refuses a CNAME there; use an alias record set or Traffic Manager`,
    };
  const others: string[] = [];
  for await (const set of client.recordSets.listByDnsZone(p.resource_group, p.zone, {
    abortSignal: AbortSignal.timeout(timeoutMs),
  })) {
    const type = (set.type ?? '').split('/').pop() ?? '';
    if (
      (set.name ?? '').toLowerCase() === relative &&
      type !== p.type &&
      (p.type === 'CNAME' || type === 'CNAME')
    )
      others.push(type);
  }
  return {
    check,
    ok: others.length === 0,
    detail: others.length
      ? `${relative} holds ${others.join(', ')}; Azure DNS refuses a ${p.type} beside it: delete it first, or switch with Traffic Manager`
      : `nothing at ${relative} conflicts with a ${p.type}`,
  };
}
