/*
 * Stand-in for the EC2 Query API (2016-11-15) calls the ec2_api probe makes, for signals/ec2.test.ts only; the
 * lab uses aws/ec2.ts.
 * Refuses, as EC2 does (source: the comments below and ec2.test.ts):
 * - a request not SigV4-signed with the key id for this region (401 AuthFailure);
 * - an action the caller's IAM policy denies (`deny`: 403 UnauthorizedOperation, 'an IAM policy refusing the dry
 *   run is an auth status');
 * - RunInstances with DryRun answers 412 DryRunOperation, as EC2 does for an allowed call; without ImageId 400
 *   MissingParameter; without DryRun it is refused here (400 InvalidParameterValue: a probe must never launch);
 * - any other action (400 InvalidAction).
 * Faults on demand: `throttle` (503 RequestLimitExceeded, 'throttling is retried with backoff'), `unavailable`
 * (503 Unavailable), `hang`.
 * Does not model: pagination, filters, the full response of DescribeInstances/DescribeVolumes (empty sets),
 * checking the signature itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpServer } from '../shared/loopback.js';

export interface Ec2QueryZone {
  name: string;
  id: string;
  state: 'available' | 'information' | 'impaired' | 'unavailable';
}

/**
 * What the server answers next: `throttle` answers that many requests with
 * RequestLimitExceeded (HTTP 503, as EC2 does), `unavailable` answers every
 * request with the server error `Unavailable`, `deny` lists actions the
 * caller's IAM policy does not allow (UnauthorizedOperation, HTTP 403).
 */
export interface Ec2QueryState {
  zones: Ec2QueryZone[];
  throttle: number;
  unavailable: boolean;
  /** Accept requests and never answer (a region whose API hangs, or our own path to it). */
  hang: boolean;
  deny: string[];
  actions: string[];
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

function escape(text: string): string {
  return text.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
}

/**
 * The EC2 Query API (form-encoded `POST /`, `Action=...&Version=2016-11-15`,
 * SigV4 required, XML answers and the `<Response><Errors>` error shape) for
 * the calls an ec2_api probe makes. A call with `DryRun=true` that the caller
 * may make answers `DryRunOperation` (HTTP 412), as EC2 does; RunInstances
 * without DryRun is refused here, since a probe must never launch anything.
 */
export async function ec2QueryServer(accessKeyId: string, region: string, zones: Ec2QueryZone[]) {
  const state: Ec2QueryState = { zones, throttle: 0, unavailable: false, hang: false, deny: [], actions: [] };
  const error = (res: ServerResponse, status: number, code: string, message: string): void => {
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${escape(message)}</Message></Error></Errors><RequestID>${crypto.randomUUID()}</RequestID></Response>`,
    );
  };
  const ok = (res: ServerResponse, action: string, inner: string): void => {
    res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}"><requestId>${crypto.randomUUID()}</requestId>${inner}</${action}Response>`,
    );
  };
  const describe: Record<string, () => string> = {
    DescribeAvailabilityZones: () =>
      `<availabilityZoneInfo>${state.zones
        .map(
          (z) =>
            `<item><zoneName>${z.name}</zoneName><zoneState>${z.state}</zoneState><regionName>${region}</regionName><zoneId>${z.id}</zoneId><zoneType>availability-zone</zoneType><messageSet/></item>`,
        )
        .join('')}</availabilityZoneInfo>`,
    DescribeInstances: () => '<reservationSet/>',
    DescribeVolumes: () => '<volumeSet/>',
  };
  function handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const credential = /Credential=([^/]+)\/\d{8}\/([^/]+)\/ec2\/aws4_request/.exec(
      String(req.headers.authorization ?? ''),
    );
    if (!credential || credential[1] !== accessKeyId || credential[2] !== region)
      return error(res, 401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    state.actions.push(action);
    if (state.hang) return;
    if (state.throttle > 0) {
      state.throttle--;
      return error(res, 503, 'RequestLimitExceeded', 'Request limit exceeded.');
    }
    if (state.unavailable)
      return error(res, 503, 'Unavailable', 'The server is overloaded and cannot handle the request.');
    if (state.deny.includes(action))
      return error(res, 403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.');
    if (describe[action]) return ok(res, action, describe[action]());
    if (action === 'RunInstances') {
      if (params.get('DryRun') !== 'true')
        return error(
          res,
          400,
          'InvalidParameterValue',
          'this stand-in only accepts RunInstances with DryRun',
        );
      if (!params.get('ImageId'))
        return error(res, 400, 'MissingParameter', 'The request must contain the parameter ImageId');
      return error(res, 412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');
    }
    error(res, 400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
  }
  const server = await httpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  return { url: server.url, state, close: server.close };
}
