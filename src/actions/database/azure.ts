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
  /**
   * The promote operation ARM accepted (the SDK's serialized poller): an attempt that resumes follows it
   * to its end instead of sending a second promote.
   */
  operation?: string;
}

/**
 * Promotes a Flexible Server read replica: `PATCH …/flexibleServers/{name}` with
 * `properties.replica.promoteMode/promoteOption`, a long-running operation the SDK polls through the
 * `Azure-AsyncOperation` header until it ends. A replica already promoted (by an attempt cut short) is
 * recognised by its role and not promoted twice; one whose promote ARM accepted but that had not ended
 * when the attempt was cut is followed through that operation, not promoted again. What is left is the
 * window in which the SDK sends the PATCH and makes its first poll (it returns the poller only then) and
 * the poller reaches the step's state: a kill there sends one more PATCH.
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
  const promote = { replica: { promoteMode: cap(p.promote_mode), promoteOption: cap(p.promote_option) } };
  const options = { abortSignal: ctx.signal, updateIntervalInMs: p.poll_interval * 1000 };
  let poller: Awaited<ReturnType<typeof client.servers.beginUpdate>> | undefined;
  if (state.operation) {
    ctx.progress(`following the promote of ${p.server} that ARM accepted in an earlier attempt`);
    poller = await client.servers
      .beginUpdate(p.resource_group, p.server, promote, { ...options, resumeFrom: state.operation })
      .catch((error: unknown) => {
        if (ctx.signal.aborted) throw error;
        // ARM no longer knows the operation (it keeps them for a limited time): promote anew below.
        ctx.progress(
          `the earlier promote operation cannot be followed (${armError(error, 'poll it').message})`,
        );
        return undefined;
      });
  }
  if (!poller) {
    state.requested = true;
    state.role_before = role;
    delete state.operation;
    await ctx.state.save(state);
    ctx.progress(
      `promoting ${p.server} (${p.promote_mode}, ${p.promote_option}) through Azure Resource Manager`,
    );
    poller = await client.servers
      .beginUpdate(p.resource_group, p.server, promote, options)
      .catch((error: unknown) => {
        throw armError(error, `promote ${p.server}`);
      });
    state.operation = poller.toString();
    await ctx.state.save(state);
  }
  const updated = await poller.pollUntilDone({ abortSignal: ctx.signal }).catch((error: unknown) => {
    throw armError(error, `promote ${p.server}`);
  });
  const before = state.role_before ?? role;
  const after = updated.replica?.role ?? updated.replicationRole ?? 'None';
  if (after === 'AsyncReplica' || after === 'GeoAsyncReplica')
    throw new StepError(`the promote operation ended but ${p.server} is still a replica (${after})`);
  return {
    summary: `promoted ${p.server} (${p.promote_mode}, ${p.promote_option}): role ${before} → ${after}`,
    output: { role_before: before, role_after: after, state: updated.state },
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
