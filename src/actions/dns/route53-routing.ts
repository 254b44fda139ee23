import {
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { StepError, type PreflightCheck } from '../types.js';
import type { Route53Params } from './config.js';

const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`).toLowerCase();

/**
 * The record sets of the step's name and type. Record sets of one name and type share one routing policy in
 * Route 53: either one simple set, or several routed ones (failover, weighted, latency…) told apart by
 * `SetIdentifier`. A change must match what is there, or Route 53 refuses it (InvalidChangeBatch).
 */
export async function sameNameAndType(
  client: Route53Client,
  p: Route53Params,
  signal: AbortSignal,
): Promise<ResourceRecordSet[]> {
  const name = fqdn(p.name);
  const listed = await client.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: p.hosted_zone_id,
      StartRecordName: name,
      StartRecordType: p.type,
      MaxItems: 100,
    }),
    { abortSignal: signal },
  );
  return (listed.ResourceRecordSets ?? []).filter(
    (r) => (r.Name ?? '').toLowerCase() === name && r.Type === p.type,
  );
}

function policyOf(r: ResourceRecordSet): string {
  if (r.Failover) return `Failover ${r.Failover}`;
  if (r.Weight !== undefined) return `Weight ${r.Weight}`;
  if (r.Region) return `Region ${r.Region}`;
  if (r.GeoLocation) return 'GeoLocation';
  if (r.MultiValueAnswer) return 'MultiValueAnswer';
  return 'routed';
}

/**
 * The record set to UPSERT: the step's values, and for a routed record the identifier and every routing
 * field of the set it replaces (its policy and its health check), so the change moves the answer and nothing
 * else. Without `set_identifier` it is a simple record.
 */
export function recordSetFor(p: Route53Params, current: ResourceRecordSet[]): ResourceRecordSet {
  const values = p.type === 'TXT' ? p.value.map((v) => JSON.stringify(v)) : p.value;
  const answer = {
    Name: fqdn(p.name),
    Type: p.type,
    TTL: p.ttl,
    ResourceRecords: values.map((Value) => ({ Value })),
  };
  if (p.set_identifier === undefined) return answer;
  const routed = current.find((r) => r.SetIdentifier === p.set_identifier);
  if (!routed)
    throw new StepError(
      `Route 53 has no record set ${fqdn(p.name)} ${p.type} with SetIdentifier ${p.set_identifier}${
        current.length
          ? ` (it has: ${current.map((r) => r.SetIdentifier ?? 'a simple record').join(', ')})`
          : ''
      }: name one that exists in set_identifier`,
    );
  const { SetIdentifier, Weight, Region, GeoLocation, Failover, MultiValueAnswer, HealthCheckId } = routed;
  const { CidrRoutingConfig, GeoProximityLocation } = routed;
  return {
    ...answer,
    SetIdentifier,
    Weight,
    Region,
    GeoLocation,
    Failover,
    MultiValueAnswer,
    HealthCheckId,
    CidrRoutingConfig,
    GeoProximityLocation,
  };
}

/** Whether the UPSERT matches the routing policy of what the name and type hold, said before a failover needs it. */
export function replaceableCheck(p: Route53Params, current: ResourceRecordSet[]): PreflightCheck {
  const check = 'record set the change can replace';
  const routed = current.filter((r) => r.SetIdentifier !== undefined);
  if (p.set_identifier === undefined && routed.length)
    return {
      check,
      ok: false,
      detail: `${fqdn(p.name)} ${p.type} is served by routed records (SetIdentifier ${routed
        .map((r) => `${r.SetIdentifier}: ${policyOf(r)}`)
        .join(
          ', ',
        )}); Route 53 refuses a simple record beside them: set set_identifier to the record this change replaces (the PRIMARY one, to send its answers to DR)`,
    };
  if (p.set_identifier !== undefined && !routed.some((r) => r.SetIdentifier === p.set_identifier))
    return {
      check,
      ok: false,
      detail: `${fqdn(p.name)} ${p.type} has no record with SetIdentifier ${p.set_identifier}${
        current.length
          ? ` (it has: ${current.map((r) => r.SetIdentifier ?? 'a simple record').join(', ')})`
          : ''
      }`,
    };
  return {
    check,
    ok: true,
    detail: p.set_identifier
      ? `replaces the ${policyOf(routed.find((r) => r.SetIdentifier === p.set_identifier)!)} record ${p.set_identifier}, keeping its policy`
      : `${fqdn(p.name)} ${p.type} is a simple record set (or none yet)`,
  };
}
