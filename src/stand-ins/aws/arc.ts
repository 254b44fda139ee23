import type { ServerResponse } from 'node:http';
import { answerAfter } from '../shared/answer-delay.js';
import { FakeServer, sendJson } from '../shared/server.js';

export type RoutingControlState = 'On' | 'Off';

const JSON_10 = 'application/x-amz-json-1.0';

/**
 * An assertion safety rule of an ARC control panel: after every transaction, the asserted controls must
 * satisfy the rule (`ATLEAST` n On, `AND` all On, `OR` any On; `inverted` negates), or the change is refused.
 */
export interface AssertionRule {
  arn: string;
  asserted: string[];
  type: 'ATLEAST' | 'AND' | 'OR';
  threshold?: number;
  inverted?: boolean;
}

export interface ArcEndpointOptions {
  /** Safety rules shared by the cluster's endpoints (the control panel's, not one endpoint's). */
  safetyRules?: AssertionRule[];
  /** Every accepted transaction's resulting states, in order: a test can see whether a window existed. */
  history?: Array<Record<string, RoutingControlState>>;
  /**
   * How long an UpdateRoutingControlState(s) answer follows its effect (default 0: at once;
   * shared/answer-delay.ts), for the kill-anywhere benchmark.
   */
  answerDelayMs?: number;
}

/**
 * One Route 53 ARC cluster endpoint: the routing-control data plane (`ToggleCustomerAPI`, AWS JSON 1.0,
 * SigV4 scoped to its region and the `route53-recovery-cluster` service). The cluster's endpoints share one
 * set of controls (`controls`), and `onChange` sees each state change: the health checks bound to the
 * controls (Route 53's data plane) follow it.
 *
 * Operations: `GetRoutingControlState`, `UpdateRoutingControlState`, `UpdateRoutingControlStates` (one
 * transaction for several controls).
 *
 * Refusals it models, with their sources:
 * - a signature scoped to another region or service: 403 `InvalidSignatureException` (SigV4; the model's
 *   `signingName` is `route53-recovery-cluster`, and each cluster endpoint is regional: botocore
 *   `route53-recovery-cluster/2019-12-02/service-2.json` metadata and its documentation, "You must specify
 *   Regional endpoints");
 * - `down`: 503 `EndpointTemporarilyUnavailableException`, "The cluster endpoint isn't available. Try another
 *   cluster endpoint." (service-2.json, error shape of every operation);
 * - an unknown routing control ARN: 404 `ResourceNotFoundException` with `resourceId`/`resourceType`
 *   (service-2.json: required members message, resourceId, resourceType);
 * - a state other than `On`/`Off`: 400 `ValidationException` with `reason: fieldValidationFailed`
 *   (service-2.json: `RoutingControlState` enum On/Off, `ValidationExceptionReason` enum);
 * - a transaction that leaves an assertion safety rule unmet, unless the rule's ARN is in
 *   `SafetyRulesToOverride`: 409 `ConflictException` with the rule as `resourceId` (service-2.json lists
 *   `ConflictException` among `UpdateRoutingControlState(s)`' errors, and the operations' documentation says
 *   safety rules prevent updates unless overridden; AWS::Route53RecoveryControl::SafetyRule AssertionRule:
 *   "Otherwise, the change to the routing control is not accepted"). The HTTP status of that refusal and its
 *   message text are not in the model: 409 is an assumption.
 * - more than `maxEntries` entries in one `UpdateRoutingControlStates`: `ServiceLimitExceededException`
 *   (service-2.json: "can't update that many routing control states at the same time"; neither the limit's
 *   value nor the HTTP status is in the model: the stand-in takes 10 entries and answers 400).
 *
 * - an unknown operation: 400 `UnknownOperationException`.
 * Used by the lab's control-plane-down drill and the dns step's tests.
 * Not modelled: checking the SigV4 signature itself, gating rules, an assertion rule's wait period (`WaitPeriodMs`), `ListRoutingControls`,
 * throttling, the control-plane (recovery-control-config) API, latency (but `answerDelayMs` answers updates
 * that long after applying them).
 */
export async function fakeArcEndpoint(
  region: string,
  controls: Map<string, RoutingControlState>,
  onChange?: (arn: string, state: RoutingControlState) => void,
  options: ArcEndpointOptions & { maxEntries?: number } = {},
) {
  const state = { down: false, targets: [] as string[] };
  const send = (res: ServerResponse, status: number, value: unknown) =>
    sendJson(res, status, value, { 'content-type': JSON_10 });
  const server = new FakeServer(
    (req, body, res) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      state.targets.push(target);
      if (target.startsWith('ToggleCustomerAPI.UpdateRoutingControlState'))
        answerAfter(res, options.answerDelayMs ?? 0);
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/route53-recovery-cluster\//.exec(
        String(req.headers.authorization ?? ''),
      );
      if (scope?.[1] !== region)
        return send(res, 403, {
          __type: 'InvalidSignatureException',
          message: 'Credential should be scoped to a valid region.',
        });
      if (state.down)
        return send(res, 503, {
          __type: 'EndpointTemporarilyUnavailableException',
          message: 'The cluster endpoint is temporarily unavailable.',
        });
      const answer = arcOperation(target, JSON.parse(body || '{}') as ArcInput, controls, {
        ...options,
        onChange,
      });
      send(res, answer.status, answer.body);
    },
    {
      get: () => ({ region, down: state.down, controls: Object.fromEntries(controls) }),
      set: (value) => Object.assign(state, { down: Boolean((value as { down?: boolean }).down) }),
    },
  );
  await server.start();
  return { url: server.url, region, state, close: () => server.close() };
}

export type FakeArcEndpoint = Awaited<ReturnType<typeof fakeArcEndpoint>>;

interface ArcInput {
  RoutingControlArn?: string;
  RoutingControlState?: string;
  UpdateRoutingControlStateEntries?: Array<{ RoutingControlArn?: string; RoutingControlState?: string }>;
  SafetyRulesToOverride?: string[];
}

interface Answer {
  status: number;
  body: unknown;
}

const notFound = (arn: string): Answer => ({
  status: 404,
  body: {
    __type: 'ResourceNotFoundException',
    message: `Routing control ${arn} not found`,
    resourceId: arn,
    resourceType: 'RoutingControl',
  },
});

function arcOperation(
  target: string,
  input: ArcInput,
  controls: Map<string, RoutingControlState>,
  options: ArcEndpointOptions & {
    maxEntries?: number;
    onChange?: (arn: string, s: RoutingControlState) => void;
  },
): Answer {
  if (target === 'ToggleCustomerAPI.GetRoutingControlState') {
    const arn = input.RoutingControlArn ?? '';
    if (!controls.has(arn)) return notFound(arn);
    return {
      status: 200,
      body: {
        RoutingControlArn: arn,
        RoutingControlState: controls.get(arn),
        RoutingControlName: arn.split('/').pop(),
      },
    };
  }
  let entries: Array<{ RoutingControlArn?: string; RoutingControlState?: string }>;
  if (target === 'ToggleCustomerAPI.UpdateRoutingControlState') entries = [input];
  else if (target === 'ToggleCustomerAPI.UpdateRoutingControlStates') {
    entries = input.UpdateRoutingControlStateEntries ?? [];
    if (entries.length > (options.maxEntries ?? 10))
      return {
        status: 400,
        body: {
          __type: 'ServiceLimitExceededException',
          message: 'The request can\u2019t update that many routing control states at the same time.',
          limitCode: 'RoutingControlStatesPerTransaction',
          serviceCode: 'route53-recovery-cluster',
        },
      };
  } else
    return {
      status: 400,
      body: { __type: 'UnknownOperationException', message: `unknown operation ${target}` },
    };
  return applyTransaction(entries, input.SafetyRulesToOverride ?? [], controls, options);
}

/** All entries are checked, then the resulting states against every safety rule, before any is applied. */
function applyTransaction(
  entries: Array<{ RoutingControlArn?: string; RoutingControlState?: string }>,
  overrides: string[],
  controls: Map<string, RoutingControlState>,
  options: ArcEndpointOptions & { onChange?: (arn: string, s: RoutingControlState) => void },
): Answer {
  const next = new Map(controls);
  for (const entry of entries) {
    const arn = entry.RoutingControlArn ?? '';
    if (!controls.has(arn)) return notFound(arn);
    const value = entry.RoutingControlState;
    if (value !== 'On' && value !== 'Off')
      return {
        status: 400,
        body: {
          __type: 'ValidationException',
          message: 'RoutingControlState must be On or Off',
          reason: 'fieldValidationFailed',
        },
      };
    next.set(arn, value);
  }
  const broken = (options.safetyRules ?? []).find(
    (rule) => !overrides.includes(rule.arn) && !holds(rule, next),
  );
  if (broken)
    return {
      status: 409,
      body: {
        __type: 'ConflictException',
        message: `The request would leave safety rule ${broken.arn} unmet`,
        resourceId: broken.arn,
        resourceType: 'SafetyRule',
      },
    };
  for (const [arn, value] of next) {
    const changed = controls.get(arn) !== value;
    controls.set(arn, value);
    if (changed) options.onChange?.(arn, value);
  }
  options.history?.push(Object.fromEntries(controls));
  return { status: 200, body: {} };
}

function holds(rule: AssertionRule, states: Map<string, RoutingControlState>): boolean {
  const on = rule.asserted.filter((arn) => states.get(arn) === 'On').length;
  const met =
    rule.type === 'AND'
      ? on === rule.asserted.length
      : rule.type === 'OR'
        ? on > 0
        : on >= (rule.threshold ?? 1);
  return rule.inverted ? !met : met;
}
