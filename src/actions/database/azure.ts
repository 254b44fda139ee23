import { readFileSync } from 'node:fs';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { StepError, type PreflightCheck, type StepContext, type StepResult } from '../types.js';
import type { AzurePromoteParams } from './config.js';

/** A token handed over as is (e.g. `az account get-access-token`), for runs without an Azure identity. */
function staticToken(token: string): TokenCredential {
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }) };
}

/** The ARM client; `ca_file` trusts a private CA (a TLS-inspecting proxy, or a local stand-in in tests). */
export function armClient(p: AzurePromoteParams): PostgreSQLManagementFlexibleServerClient {
  const ca = p.ca_file ? readFileSync(p.ca_file, 'utf8') : undefined;
  const credential = p.access_token ? staticToken(p.access_token) : new DefaultAzureCredential();
  return new PostgreSQLManagementFlexibleServerClient(credential, p.subscription_id, {
    endpoint: p.endpoint,
    ...(ca ? { tlsOptions: { ca } } : {}),
  });
}

/** ARM's refusal, stripped to its code and message (never a stack). */
export function armError(error: unknown, what: string): StepError {
  const e = error as { statusCode?: number; code?: string; message?: string };
  return new StepError(
    `Azure Resource Manager refused to ${what}: ${e.statusCode ? `HTTP ${e.statusCode} ` : ''}${e.code ?? ''} ${e.message ?? String(error)}`.trim(),
  );
}

interface PromoteState {
  requested?: boolean;
  role_before?: string;
}

/**
 * Promotes a Flexible Server read replica: `PATCH …/flexibleServers/{name}` with
 * `properties.replica.promoteMode/promoteOption`, a long-running operation the SDK polls through the
 * `Azure-AsyncOperation` header until it ends. A replica already promoted (by an attempt cut short) is
 * recognised by its role and not promoted twice.
 */
export async function azurePromote(p: AzurePromoteParams, ctx: StepContext): Promise<StepResult> {
  const state: PromoteState = (await ctx.state.load<PromoteState>()) ?? {};
  const client = armClient(p);
  const server = await client.servers
    .get(p.resource_group, p.server, { abortSignal: ctx.signal })
    .catch((error: unknown) => {
      throw armError(error, `read server ${p.server}`);
    });
  const role = server.replica?.role ?? server.replicationRole ?? 'None';
  if (role !== 'AsyncReplica' && role !== 'GeoAsyncReplica') {
    if (state.requested)
      return {
        summary: `${p.server} is already promoted (role ${role})`,
        output: { role, already: true },
      };
    throw new StepError(
      `${p.server} is not a read replica (its replication role is ${role}); point params.server at the replica`,
    );
  }
  state.requested = true;
  state.role_before = role;
  await ctx.state.save(state);
  ctx.progress(
    `promoting ${p.server} (${p.promote_mode}, ${p.promote_option}) through Azure Resource Manager`,
  );
  const updated = await client.servers
    .beginUpdateAndWait(
      p.resource_group,
      p.server,
      { replica: { promoteMode: cap(p.promote_mode), promoteOption: cap(p.promote_option) } },
      { abortSignal: ctx.signal, updateIntervalInMs: p.poll_interval * 1000 },
    )
    .catch((error: unknown) => {
      throw armError(error, `promote ${p.server}`);
    });
  const after = updated.replica?.role ?? updated.replicationRole ?? 'None';
  if (after === 'AsyncReplica' || after === 'GeoAsyncReplica')
    throw new StepError(`the promote operation ended but ${p.server} is still a replica (${after})`);
  return {
    summary: `promoted ${p.server} (${p.promote_mode}, ${p.promote_option}): role ${role} → ${after}`,
    output: { role_before: role, role_after: after, state: updated.state },
    // A forced promote does not wait for the replica to catch up: what it lacked is not known here.
    dataLossS: p.promote_option === 'planned' ? 0 : undefined,
  };
}

const cap = <T extends string>(s: T) => (s[0].toUpperCase() + s.slice(1)) as Capitalize<T>;

export async function azurePreflight(p: AzurePromoteParams, timeoutMs: number): Promise<PreflightCheck[]> {
  try {
    const server = await armClient(p).servers.get(p.resource_group, p.server, {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    const role = server.replica?.role ?? server.replicationRole ?? 'None';
    const state = server.replica?.replicationState;
    return [
      {
        check: 'Flexible Server replica ready to promote',
        ok: (role === 'AsyncReplica' || role === 'GeoAsyncReplica') && state !== 'Broken',
        detail: `${p.server}: role ${role}${state ? `, replication ${state}` : ''}`,
      },
    ];
  } catch (error) {
    return [
      {
        check: 'Azure Resource Manager answers',
        ok: false,
        detail: armError(error, 'read the server').message,
      },
    ];
  }
}
