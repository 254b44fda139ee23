import { Resolver } from 'node:dns/promises';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checksContext, rehearsalByChecks } from '../shared/drill.js';
import { sleep } from '../shared/net.js';
import { runProcess } from '../shared/process.js';
import { StepError, type CleanupResult, type StepContext, type StepDrill } from '../types.js';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { armMessage, dnsClient, relativeName } from './azure.js';
import type { AzureDnsParams, CloudflareParams, DnsParams, Rfc2136Params, Route53Params } from './config.js';
import { awsMessage, cloudflareCall, dnsAdapter, route53Client, type CloudflareRecord } from './dns.js';

const bare = (name: string) => name.replace(/\.$/, '');

/** The record a drill writes instead of the live one: `drill.<name>`. */
export function drillRecordName(name: string): string {
  return `drill.${bare(name)}`;
}

/** Sends an RFC 2136 update script signed with the step's TSIG key (kept in a 0600 file only meanwhile). */
async function nsupdate(p: Rfc2136Params, lines: string[], ctx: StepContext): Promise<void> {
  const keyFile = join(ctx.workDir, 'tsig-drill.key');
  writeFileSync(
    keyFile,
    `key "${p.tsig.name}" {\n  algorithm ${p.tsig.algorithm};\n  secret "${p.tsig.secret}";\n};\n`,
    { mode: 0o600 },
  );
  try {
    const script = [`server ${p.server} ${p.port}`, `zone ${bare(p.zone)}.`, ...lines, 'send', ''].join('\n');
    const result = await runProcess(p.nsupdate, ['-k', keyFile, '-t', '10'], {
      input: script,
      signal: ctx.signal,
      allowFailure: true,
    });
    if (result.code !== 0)
      throw new StepError(
        `nsupdate to ${p.server}:${p.port} failed: ${(result.stderr.trim() || `exit ${result.code}`).split('\n').slice(-2).join(' | ')}`,
      );
  } finally {
    rmSync(keyFile, { force: true });
  }
}

/** What the server answers for a name and type now (empty: no such record). */
async function answers(p: Rfc2136Params, name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([`${p.server.includes(':') ? `[${p.server}]` : p.server}:${p.port}`]);
  try {
    if (p.type === 'TXT') return (await resolver.resolveTxt(name)).map((c) => c.join(''));
    if (p.type === 'CNAME') return await resolver.resolveCname(name);
    return p.type === 'A' ? await resolver.resolve4(name) : await resolver.resolve6(name);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw new StepError(`${p.server}:${p.port} did not answer for ${name}: ${(error as Error).message}`);
  }
}

/** Deletes the drill record, then asks the server until it no longer answers for it. */
async function removeDrillRecord(p: Rfc2136Params, ctx: StepContext): Promise<CleanupResult> {
  const name = drillRecordName(p.name);
  await nsupdate(p, [`update delete ${name}. ${p.type}`], ctx);
  const deadline = Date.now() + 10_000;
  let left = await answers(p, name);
  while (left.length && Date.now() < deadline) {
    await sleep(200, ctx.signal);
    left = await answers(p, name);
  }
  return {
    summary: `deleted ${name} ${p.type} on ${p.server}:${p.port}${left.length ? '' : '; the server no longer answers it'}`,
    left: left.length ? [`DNS ${name} ${p.type} ${left.join(', ')}`] : [],
  };
}

/** Deletes the drill record set exactly as Route 53 holds it (as a DELETE must name it), then lists it again. */
async function removeRoute53(p: Route53Params, ctx: StepContext): Promise<CleanupResult> {
  const name = `${drillRecordName(p.name)}.`;
  const client = route53Client(p);
  const find = async () => {
    try {
      const listed = await client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: p.hosted_zone_id,
          StartRecordName: name,
          StartRecordType: p.type,
          MaxItems: 1,
        }),
        { abortSignal: ctx.signal },
      );
      return listed.ResourceRecordSets?.find((r) => r.Name === name && r.Type === p.type);
    } catch (error) {
      throw new StepError(`Route 53 did not list ${name} ${p.type}: ${awsMessage(error)}`);
    }
  };
  try {
    const found = await find();
    if (found) {
      try {
        await client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: p.hosted_zone_id,
            ChangeBatch: {
              Comment: `CloudPhoenix drill cleanup ${ctx.runId}`,
              Changes: [{ Action: 'DELETE', ResourceRecordSet: found }],
            },
          }),
          { abortSignal: ctx.signal },
        );
      } catch (error) {
        throw new StepError(`Route 53 refused to delete ${name} ${p.type}: ${awsMessage(error)}`);
      }
    }
    const left = await find();
    return {
      summary: `${found ? 'deleted' : 'found no'} ${bare(name)} ${p.type} in Route 53 zone ${p.hosted_zone_id}${left ? '' : '; Route 53 no longer lists it'}`,
      left: left ? [`Route 53 ${bare(name)} ${p.type}`] : [],
    };
  } finally {
    client.destroy();
  }
}

/** Deletes every Cloudflare record of the drill name and type, then lists them again. */
async function removeCloudflare(p: CloudflareParams, ctx: StepContext): Promise<CleanupResult> {
  const name = drillRecordName(p.name);
  const base = `/zones/${encodeURIComponent(p.zone_id)}/dns_records`;
  const list = () =>
    cloudflareCall<CloudflareRecord[]>(
      p,
      'GET',
      `${base}?type=${p.type}&name=${encodeURIComponent(name)}&per_page=100`,
      undefined,
      ctx.signal,
    );
  const found = await list();
  for (const r of found) await cloudflareCall(p, 'DELETE', `${base}/${r.id}`, undefined, ctx.signal);
  const left = await list();
  return {
    summary: `deleted ${found.length} Cloudflare ${name} ${p.type} record(s)${left.length ? '' : '; Cloudflare no longer lists any'}`,
    left: left.map((r) => `Cloudflare ${name} ${p.type} ${r.content}`),
  };
}

/** Deletes the drill record set from the Azure DNS zone, then reads it until ARM no longer has it. */
async function removeAzureDns(p: AzureDnsParams, ctx: StepContext): Promise<CleanupResult> {
  const name = drillRecordName(p.name);
  const relative = relativeName(name, p.zone);
  if (!relative) throw new StepError(`${name} is not inside the zone ${p.zone}`);
  const client = await dnsClient(p);
  try {
    await client.recordSets.delete(p.resource_group, p.zone, relative, p.type, { abortSignal: ctx.signal });
  } catch (error) {
    throw new StepError(`Azure DNS refused to delete ${p.type} ${name}: ${armMessage(error)}`);
  }
  const left = await client.recordSets
    .get(p.resource_group, p.zone, relative, p.type, { abortSignal: ctx.signal })
    .then(
      () => true,
      (error: { statusCode?: number }) => {
        if (error.statusCode === 404) return false;
        throw new StepError(`Azure DNS did not answer for ${p.type} ${name}: ${armMessage(error)}`);
      },
    );
  return {
    summary: `deleted ${name} ${p.type} from the Azure DNS zone ${p.zone}${left ? '' : '; ARM no longer has it'}`,
    left: left ? [`Azure DNS ${name} ${p.type}`] : [],
  };
}

const isSwitch = (p: DnsParams) => p.provider === 'azure_traffic_manager' || p.provider === 'route53_arc';

/**
 * A record provider (Route 53, Cloudflare, Azure DNS, RFC 2136) writes `drill.<name>` with the DR value
 * instead of the live record, and the cleanup deletes it and checks the provider no longer has it; a
 * traffic switch (Traffic Manager, ARC) only checks it could switch: its live endpoints are not touched.
 */
export const dnsDrill: StepDrill<DnsParams> = {
  describe: (p) =>
    isSwitch(p)
      ? `check ${p.provider} could switch; nothing switched`
      : `write ${drillRecordName(p.name)} ${p.type} → ${p.value.join(', ')} instead of ${bare(p.name)}`,
  async rehearse(p, ctx) {
    if (p.provider === 'azure_traffic_manager' || p.provider === 'route53_arc')
      return rehearsalByChecks(await dnsAdapter.preflight(p, checksContext(ctx)), `switch ${p.provider}`);
    const result = await dnsAdapter.run({ ...p, name: drillRecordName(p.name) }, ctx);
    return {
      ...result,
      summary: `drill: ${result.summary}`,
      output: { ...result.output, drill_record: drillRecordName(p.name) },
    };
  },
  async cleanup(p, ctx) {
    switch (p.provider) {
      case 'rfc2136':
        return removeDrillRecord(p, ctx);
      case 'route53':
        return removeRoute53(p, ctx);
      case 'cloudflare':
        return removeCloudflare(p, ctx);
      case 'azure_dns':
        return removeAzureDns(p, ctx);
      default:
        return { summary: 'nothing written', left: [] };
    }
  },
};
