/*
 * Stand-in for the AWS Health API (AWS JSON 1.1, AWSHealth_20160804), run by the lab's feeds and the
 * control-plane-down drill (its two regional endpoints), and by context tests.
 * Refuses, as AWS Health does (source: the comments below; context.test.ts 'another key is refused as AWS refuses
 * it'):
 * - with an access key set, a request not SigV4-signed with that key (400 UnrecognizedClientException);
 * - a body that is not JSON (400 SerializationException), an unknown operation (400 UnknownOperationException).
 * Faults on demand (`mode`): 400 SubscriptionRequiredException (no Business or Enterprise support), 400
 * ThrottlingException, 500 InternalFailure, 503 ServiceUnavailable (the region's endpoint impaired), a non-JSON
 * 200 (garbage), a slow answer.
 * Does not model: the region of the credential scope (aws/health-api.ts does), the 10-service filter limit and
 * the organizational view (aws/health-api.ts does), DescribeAffectedEntities, checking the signature itself.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { FakeServer, sendJson, sendText } from '../shared/server.js';

/** An event as the fake serves it; times are Unix seconds. */
export interface FakeHealthEvent {
  arn?: string;
  service: string;
  region: string;
  eventTypeCode: string;
  eventTypeCategory: 'issue' | 'scheduledChange' | 'accountNotification' | 'investigation';
  statusCode: 'open' | 'closed' | 'upcoming';
  startTime?: number;
  lastUpdatedTime?: number;
  description?: string;
}

export const AWS_HEALTH_FAKE_MODES = [
  'ok',
  'subscription_required',
  'throttled',
  'server_error',
  /** The region's endpoint impaired, as in a regional outage: 503 ServiceUnavailable. */
  'unavailable',
  'garbage',
  'slow',
] as const;
export type AwsHealthFakeMode = (typeof AWS_HEALTH_FAKE_MODES)[number];

export interface AwsHealthFakeState {
  mode: AwsHealthFakeMode;
  events: FakeHealthEvent[];
  delay_ms: number;
}

interface DescribeEventsBody {
  filter?: { regions?: string[]; services?: string[]; eventStatusCodes?: string[] };
  maxResults?: number;
  nextToken?: string;
}

const JSON_11 = 'application/x-amz-json-1.1';

/**
 * AWS Health in its real wire protocol: AWS JSON 1.1, `POST /` with
 * `X-Amz-Target: AWSHealth_20160804.DescribeEvents` (and DescribeEventDetails),
 * timestamps as epoch seconds, errors as `{"__type": ...}` with HTTP 400/5xx.
 * Point the SDK at it with `endpoint: fake.url`.
 */
export class FakeAwsHealthServer extends FakeServer {
  state: AwsHealthFakeState = { mode: 'ok', events: [], delay_ms: 60_000 };
  /** Told of each call the mode refused (a drill moves Health's global name when the active region fails). */
  onRefused?: (type: string) => void;

  /** With `accessKeyId`, only requests SigV4-signed with that key are answered, as AWS does. */
  constructor(private readonly accessKeyId?: string) {
    super((req, body, res) => this.answer(req.headers, body, res), {
      get: () => this.state,
      set: (s) => this.setState(s as Partial<AwsHealthFakeState>),
    });
  }

  setState(update: Partial<AwsHealthFakeState>): void {
    if (update.mode !== undefined && !AWS_HEALTH_FAKE_MODES.includes(update.mode))
      throw new Error(`unknown mode ${String(update.mode)}; use one of ${AWS_HEALTH_FAKE_MODES.join(', ')}`);
    this.state = { ...this.state, ...update };
  }

  setEvents(events: FakeHealthEvent[]): void {
    this.state = { ...this.state, events };
  }

  setMode(mode: AwsHealthFakeMode): void {
    this.setState({ mode });
  }

  private arn(e: FakeHealthEvent, i: number): string {
    return (
      e.arn ?? `arn:aws:health:${e.region}::event/${e.service}/${e.eventTypeCode}/${e.eventTypeCode}_${i}`
    );
  }

  private error(res: ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { 'content-type': JSON_11, 'x-amzn-errortype': type });
    res.end(JSON.stringify({ __type: type, message }));
  }

  private answer(headers: IncomingHttpHeaders, body: string, res: ServerResponse): Promise<void> | void {
    const auth = String(headers.authorization ?? '');
    if (this.accessKeyId && !auth.startsWith('AWS4-HMAC-SHA256 Credential=' + this.accessKeyId + '/'))
      return this.error(
        res,
        400,
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    return this.route(String(headers['x-amz-target'] ?? ''), body, res);
  }

  /** The answer the fake's mode forces, if any: the failures AWS Health is known to answer. */
  private refusal(): { status: number; type: string; message: string } | 'garbage' | undefined {
    switch (this.state.mode) {
      case 'subscription_required':
        return {
          status: 400,
          type: 'SubscriptionRequiredException',
          message: 'The AWS account is not subscribed to a Business or Enterprise support plan.',
        };
      case 'throttled':
        return { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
      case 'server_error':
        return { status: 500, type: 'InternalFailure', message: 'We encountered an internal error.' };
      case 'unavailable':
        return {
          status: 503,
          type: 'ServiceUnavailable',
          message: 'The request has failed due to a temporary failure of the server.',
        };
      case 'garbage':
        return 'garbage';
      default:
        return undefined;
    }
  }

  private async route(target: string, body: string, res: ServerResponse): Promise<void> {
    if (this.state.mode === 'slow' && !(await this.delay(this.state.delay_ms, res))) return;
    const refused = this.refusal();
    if (refused === 'garbage') return sendText(res, 200, '<html>502 Bad Gateway</html>', JSON_11);
    if (refused) {
      this.onRefused?.(refused.type);
      return this.error(res, refused.status, refused.type, refused.message);
    }
    let request: DescribeEventsBody & { eventArns?: string[] };
    try {
      request = JSON.parse(body || '{}') as typeof request;
    } catch {
      return this.error(res, 400, 'SerializationException', 'the body is not JSON');
    }
    const events = this.state.events.map((e, i) => ({ ...e, arn: this.arn(e, i) }));
    if (target === 'AWSHealth_20160804.DescribeEvents') return this.describeEvents(events, request, res);
    if (target === 'AWSHealth_20160804.DescribeEventDetails')
      return this.describeEventDetails(events, request.eventArns ?? [], res);
    return this.error(res, 400, 'UnknownOperationException', `unknown operation ${target}`);
  }

  /** DescribeEvents: the filter's regions, services and status codes, paged by `maxResults`/`nextToken`. */
  private describeEvents(
    events: Array<FakeHealthEvent & { arn: string }>,
    request: DescribeEventsBody,
    res: ServerResponse,
  ): void {
    const f = request.filter ?? {};
    const matching = events.filter(
      (e) =>
        (!f.regions?.length || f.regions.includes(e.region)) &&
        (!f.services?.length || f.services.includes(e.service)) &&
        (!f.eventStatusCodes?.length || f.eventStatusCodes.includes(e.statusCode)),
    );
    const start = request.nextToken ? Number(request.nextToken) : 0;
    const size = request.maxResults ?? 10;
    const page = matching.slice(start, start + size);
    const next = start + size < matching.length ? String(start + size) : undefined;
    sendJson(
      res,
      200,
      {
        events: page.map((e) => ({
          arn: e.arn,
          service: e.service,
          eventTypeCode: e.eventTypeCode,
          eventTypeCategory: e.eventTypeCategory,
          region: e.region,
          startTime: e.startTime,
          lastUpdatedTime: e.lastUpdatedTime ?? e.startTime,
          statusCode: e.statusCode,
          eventScopeCode: 'PUBLIC',
        })),
        ...(next ? { nextToken: next } : {}),
      },
      { 'content-type': JSON_11 },
    );
  }

  /** DescribeEventDetails: the latest description of each event asked for; unknown ARNs in `failedSet`. */
  private describeEventDetails(
    events: Array<FakeHealthEvent & { arn: string }>,
    arns: string[],
    res: ServerResponse,
  ): void {
    const wanted = new Set(arns);
    const found = events.filter((e) => wanted.has(e.arn));
    sendJson(
      res,
      200,
      {
        successfulSet: found.map((e) => ({
          event: { arn: e.arn, service: e.service, region: e.region, eventTypeCode: e.eventTypeCode },
          eventDescription: { latestDescription: e.description ?? '' },
          eventMetadata: {},
        })),
        failedSet: [...wanted]
          .filter((a) => !found.some((e) => e.arn === a))
          .map((a) => ({ eventArn: a, errorName: 'NotFound', errorMessage: 'no such event' })),
      },
      { 'content-type': JSON_11 },
    );
  }
}
