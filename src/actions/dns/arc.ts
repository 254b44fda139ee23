import { StepError, type PreflightCheck, type StepContext, type StepResult } from '../types.js';
import type { Route53ArcParams } from './config.js';

type ClusterSdk = typeof import('@aws-sdk/client-route53-recovery-cluster');

function awsMessage(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return `${e.$metadata?.httpStatusCode ? `HTTP ${e.$metadata.httpStatusCode} ` : ''}${e.name ?? 'Error'}: ${(e.message ?? String(error)).split('\n')[0]}`;
}

/**
 * Runs `call` against each cluster endpoint in turn until one answers: ARC's
 * guidance is to try the cluster's regional endpoints one after another,
 * since any one of them may be unavailable. Errors that are ours (validation,
 * access, unknown control) end the attempt at once.
 */
async function onAnyEndpoint<T>(
  p: Route53ArcParams,
  call: (sdk: ClusterSdk, client: InstanceType<ClusterSdk['Route53RecoveryClusterClient']>) => Promise<T>,
): Promise<{ value: T; endpoint: string }> {
  const sdk = await import('@aws-sdk/client-route53-recovery-cluster');
  const failures: string[] = [];
  for (const { endpoint, region } of p.cluster_endpoints) {
    const client = new sdk.Route53RecoveryClusterClient({
      region,
      endpoint,
      maxAttempts: 1,
      credentials:
        p.access_key_id && p.secret_access_key
          ? { accessKeyId: p.access_key_id, secretAccessKey: p.secret_access_key }
          : undefined,
    });
    try {
      return { value: await call(sdk, client), endpoint };
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (name === 'ConflictException')
        throw new StepError(
          `ARC refused the change at ${region}: ${awsMessage(error)}; a safety rule of the control panel would be left unmet: correct routing_controls, or in a break-glass failover name the rule in safety_rules_to_override`,
        );
      failures.push(`${region}: ${awsMessage(error)}`);
      // Ours, not the endpoint's: another endpoint would answer the same (ServiceLimitExceededException: too
      // many controls in one transaction).
      if (
        [
          'ValidationException',
          'AccessDeniedException',
          'ResourceNotFoundException',
          'ServiceLimitExceededException',
        ].includes(name)
      )
        break;
    } finally {
      client.destroy();
    }
  }
  throw new StepError(`no ARC cluster endpoint took the call: ${failures.join('; ')}`);
}

/**
 * Sets every routing control in one `UpdateRoutingControlStates` transaction (On/Off is a state, so a repeat
 * changes nothing), then reads them back. One transaction, because ARC judges its safety rules on the states a
 * transaction leaves: one call per control would have the rules judge half a change (an "at least one On" rule
 * refuses the primary's Off alone), or leave a window with both sides On.
 */
export async function arcSwitch(p: Route53ArcParams, ctx: StepContext): Promise<StepResult> {
  const set = await onAnyEndpoint(p, (sdk, client) =>
    client.send(
      new sdk.UpdateRoutingControlStatesCommand({
        UpdateRoutingControlStateEntries: p.routing_controls.map((control) => ({
          RoutingControlArn: control.arn,
          RoutingControlState: control.state,
        })),
        SafetyRulesToOverride: p.safety_rules_to_override.length ? p.safety_rules_to_override : undefined,
      }),
      { abortSignal: ctx.signal },
    ),
  );
  ctx.progress(`routing controls set through ${set.endpoint}`);
  const read = await onAnyEndpoint(p, (sdk, client) =>
    Promise.all(
      p.routing_controls.map((c) =>
        client.send(new sdk.GetRoutingControlStateCommand({ RoutingControlArn: c.arn }), {
          abortSignal: ctx.signal,
        }),
      ),
    ),
  );
  const wrong = p.routing_controls.filter((c, i) => read.value[i]?.RoutingControlState !== c.state);
  if (wrong.length)
    throw new StepError(`ARC routing controls not in the state set: ${wrong.map((c) => c.arn).join(', ')}`);
  return {
    summary: `ARC routing controls ${p.routing_controls.map((c) => `${c.arn.split('/').pop()}=${c.state}`).join(', ')}${p.name ? ` for ${p.name}` : ''} (through ${set.endpoint})`,
    output: { endpoint: set.endpoint, controls: p.routing_controls, ttl: p.ttl },
    dnsTtlS: p.ttl,
  };
}

export async function arcPreflight(p: Route53ArcParams, timeoutMs: number): Promise<PreflightCheck[]> {
  try {
    const read = await onAnyEndpoint(p, (sdk, client) =>
      Promise.all(
        p.routing_controls.map((c) =>
          client.send(new sdk.GetRoutingControlStateCommand({ RoutingControlArn: c.arn }), {
            abortSignal: AbortSignal.timeout(timeoutMs),
          }),
        ),
      ),
    );
    return [
      {
        check: 'ARC routing controls readable',
        ok: true,
        detail: read.value
          .map((r) => `${r.RoutingControlName ?? r.RoutingControlArn}=${r.RoutingControlState}`)
          .join(', '),
      },
    ];
  } catch (error) {
    return [{ check: 'ARC routing controls readable', ok: false, detail: (error as Error).message }];
  }
}
