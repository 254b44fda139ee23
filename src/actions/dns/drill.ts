import { Resolver } from 'node:dns/promises';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checksContext, rehearsalByChecks } from '../shared/drill.js';
import { sleep } from '../shared/net.js';
import { runProcess } from '../shared/process.js';
import { StepError, type CleanupResult, type StepContext, type StepDrill } from '../types.js';
import type { DnsParams, Rfc2136Params } from './config.js';
import { dnsAdapter } from './dns.js';

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

const RECORD_DRILLS = new Set(['rfc2136']);
const SWITCH_DRILLS = new Set(['azure_traffic_manager', 'route53_arc']);

/**
 * A record provider writes `drill.<name>` with the DR value instead of the live record, and the cleanup
 * deletes it; a traffic switch (Traffic Manager, ARC) only checks it could switch.
 */
export const dnsDrill: StepDrill<DnsParams> = {
  missing: (p) =>
    RECORD_DRILLS.has(p.provider) || SWITCH_DRILLS.has(p.provider)
      ? undefined
      : `the ${p.provider} provider has no drill record cleanup yet (rfc2136 has): a drill skips this step`,
  describe: (p) =>
    p.provider === 'azure_traffic_manager' || p.provider === 'route53_arc'
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
    if (p.provider !== 'rfc2136') return { summary: 'nothing written', left: [] };
    return removeDrillRecord(p, ctx);
  },
};
