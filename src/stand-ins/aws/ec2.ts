/*
 * Stand-in for the EC2 Query API's DescribeAvailabilityZones (2016-11-15), run by the lab's feeds for the
 * ec2_api probe.
 * Refuses, as EC2 does (source: the comments below; no test names these refusals):
 * - a request not SigV4-signed with the lab's access key id (401 AuthFailure);
 * - any other action (400 InvalidAction).
 * Faults on demand (`mode`): hang (never answers), garbage (200 that is not XML), error (503 Unavailable).
 * Does not model: the credential's region, throttling (RequestLimitExceeded), IAM denials, DryRun, other calls
 * (aws/ec2-query.ts models those for the probe's tests), checking the signature itself.
 */
import type { ServerResponse } from 'node:http';
import { FakeServer, sendText } from '../shared/server.js';

export interface FakeZone {
  name: string;
  state: 'available' | 'information' | 'impaired' | 'unavailable' | 'constrained';
}

export type FakeEc2Mode = 'normal' | 'hang' | 'garbage' | 'error';

export interface FakeEc2State {
  region: string;
  zones: FakeZone[];
  mode: FakeEc2Mode;
}

function xmlEscape(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

function zoneId(region: string, i: number): string {
  return `${region.replace(/-(\w)\w*-/, '$1')}-az${i + 1}`;
}

/**
 * A local server speaking the EC2 Query API for DescribeAvailabilityZones
 * (form-encoded POST, SigV4 Authorization header required, the 2016-11-15
 * XML response and `<Response><Errors>` error shape), driven through
 * @aws-sdk/client-ec2 with an endpoint override.
 */
export class FakeEc2 {
  readonly state: FakeEc2State;
  private readonly server: FakeServer;

  constructor(
    readonly accessKeyId: string,
    initial: Partial<FakeEc2State> = {},
  ) {
    const region = initial.region ?? 'us-west-2';
    this.state = {
      region,
      zones:
        initial.zones ?? ['a', 'b', 'c'].map((s) => ({ name: `${region}${s}`, state: 'available' as const })),
      mode: initial.mode ?? 'normal',
    };
    this.server = new FakeServer((req, body, res) => this.handle(req.headers.authorization, body, res), {
      get: () => this.state,
      set: (value) => Object.assign(this.state, value as Partial<FakeEc2State>),
    });
  }

  static async start(accessKeyId: string, initial: Partial<FakeEc2State> = {}): Promise<FakeEc2> {
    const fake = new FakeEc2(accessKeyId, initial);
    await fake.server.start();
    return fake;
  }

  get url(): string {
    return this.server.url;
  }

  get requests() {
    return this.server.requests;
  }

  setZones(zones: FakeZone[]): void {
    this.state.zones = zones;
  }

  setMode(mode: FakeEc2Mode): void {
    this.state.mode = mode;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    sendText(
      res,
      status,
      `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>fake-${Date.now()}</RequestID></Response>`,
      'text/xml;charset=UTF-8',
    );
  }

  private async handle(auth: string | undefined, body: string, res: ServerResponse): Promise<void> {
    const credential = /Credential=([^/]+)\//.exec(auth ?? '')?.[1];
    if (!auth?.startsWith('AWS4-HMAC-SHA256 ') || credential !== this.accessKeyId)
      return this.error(
        res,
        401,
        'AuthFailure',
        'AWS was not able to validate the provided access credentials',
      );
    if (this.state.mode === 'hang') {
      await this.server.delay(3_600_000, res);
      return;
    }
    if (this.state.mode === 'garbage') return sendText(res, 200, '{"not":"xml"', 'text/xml');
    if (this.state.mode === 'error')
      return this.error(res, 503, 'Unavailable', 'The service is unavailable. Please try again shortly.');
    const params = new URLSearchParams(body);
    if (params.get('Action') !== 'DescribeAvailabilityZones')
      return this.error(
        res,
        400,
        'InvalidAction',
        `The action ${params.get('Action')} is not valid for this web service.`,
      );
    const { region } = this.state;
    const items = this.state.zones
      .map(
        (z, i) => `
        <item>
            <zoneName>${xmlEscape(z.name)}</zoneName>
            <zoneState>${z.state}</zoneState>
            <regionName>${xmlEscape(region)}</regionName>
            <zoneId>${zoneId(region, i)}</zoneId>
            <groupName>${xmlEscape(region)}</groupName>
            <optInStatus>opt-in-not-required</optInStatus>
            <networkBorderGroup>${xmlEscape(region)}</networkBorderGroup>
            <zoneType>availability-zone</zoneType>
            <messageSet/>
        </item>`,
      )
      .join('');
    sendText(
      res,
      200,
      `<?xml version="1.0" encoding="UTF-8"?>
<DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>${crypto.randomUUID()}</requestId>
    <availabilityZoneInfo>${items}
    </availabilityZoneInfo>
</DescribeAvailabilityZonesResponse>`,
      'text/xml;charset=UTF-8',
    );
  }
}
