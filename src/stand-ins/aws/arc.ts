/*
 * Stand-in for one Route 53 Application Recovery Controller cluster endpoint (route53-recovery-cluster, AWS
 * JSON 1.0), run by the lab's control-plane-down drill and the dns step's tests.
 * Refuses, as ARC does (source: the comments below; providers.test.ts, drill.control-plane-down.test.ts):
 * - a request whose SigV4 credential is scoped to another region (403 InvalidSignatureException): each cluster
 *   endpoint is regional;
 * - while `down`: 503 EndpointTemporarilyUnavailableException, so the caller tries the next endpoint, as ARC's
 *   guidance says;
 * - an unknown routing control ARN (404 ResourceNotFoundException), a state other than On/Off
 *   (400 ValidationException), an unknown operation (400 UnknownOperationException).
 * Does not model: safety rules (assertion/gating rules that refuse an update), UpdateRoutingControlStates (batch),
 * ListRoutingControls, throttling, checking the signature itself.
 */
import type { ServerResponse } from 'node:http';
import { FakeServer, sendJson } from '../shared/server.js';

export type RoutingControlState = 'On' | 'Off';

const JSON_10 = 'application/x-amz-json-1.0';

/**
 * One Route 53 ARC cluster endpoint: `ToggleCustomerAPI.GetRoutingControlState`
 * and `UpdateRoutingControlState` in AWS JSON 1.0, SigV4 scoped to its region
 * and the `route53-recovery-cluster` service. The cluster's endpoints share
 * one set of controls (`controls`). `down` answers as an unavailable endpoint
 * does (503 EndpointTemporarilyUnavailableException), so a caller tries the
 * next one, as ARC's guidance says. `onChange` sees each state change: the
 * health checks bound to the controls (Route 53's data plane) follow it.
 */
export async function fakeArcEndpoint(
  region: string,
  controls: Map<string, RoutingControlState>,
  onChange?: (arn: string, state: RoutingControlState) => void,
) {
  const state = { down: false, targets: [] as string[] };
  const send = (res: ServerResponse, status: number, value: unknown) =>
    sendJson(res, status, value, { 'content-type': JSON_10 });
  const server = new FakeServer(
    (req, body, res) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      state.targets.push(target);
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
      const input = JSON.parse(body || '{}') as { RoutingControlArn?: string; RoutingControlState?: string };
      const arn = input.RoutingControlArn ?? '';
      if (!controls.has(arn))
        return send(res, 404, {
          __type: 'ResourceNotFoundException',
          message: `Routing control ${arn} not found`,
        });
      if (target === 'ToggleCustomerAPI.UpdateRoutingControlState') {
        const next = input.RoutingControlState;
        if (next !== 'On' && next !== 'Off')
          return send(res, 400, {
            __type: 'ValidationException',
            message: 'RoutingControlState must be On or Off',
          });
        const changed = controls.get(arn) !== next;
        controls.set(arn, next);
        if (changed) onChange?.(arn, next);
        return send(res, 200, {});
      }
      if (target === 'ToggleCustomerAPI.GetRoutingControlState')
        return send(res, 200, {
          RoutingControlArn: arn,
          RoutingControlState: controls.get(arn),
          RoutingControlName: arn.split('/').pop(),
        });
      send(res, 400, { __type: 'UnknownOperationException', message: `unknown operation ${target}` });
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
