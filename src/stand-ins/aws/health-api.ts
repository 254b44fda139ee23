/*
 * Stand-in for one regional AWS Health endpoint (AWS JSON 1.1, AWSHealth_20160804), for the AWS Health
 * gatherer's tests only (context/aws-health.test.ts); the lab uses aws/health.ts.
 * Refuses, as AWS Health does (source: the comments below and aws-health.test.ts):
 * - an unsigned request (403 MissingAuthenticationTokenException), one signed for the other region (403
 *   InvalidSignatureException: 'calls the region the global name points at first, signed for that region');
 * - filter.services or filter.regions of more than 10 members, filter.eventStatusCodes of more than 6,
 *   eventArns or organizationEventDetailFilters of more than 10, any of them empty, and
 *   DescribeAffectedAccountsForOrganization without its required eventArn (400 ValidationException; botocore
 *   `health/2016-08-04/service-2.json` serviceList, regionList, eventStatusCodeList, eventArnList,
 *   OrganizationEventDetailFiltersList; 'more than 10 services are asked for in batches of at most 10');
 * - the ...ForOrganization operations when the organizational view is not enabled (400
 *   AWSOrganizationsNotInUseException). ASSUMPTION: service-2.json names no error for this (its ForOrganization
 *   operations list only InvalidPaginationToken, UnsupportedLocale; DisableHealthServiceAccessForOrganization's
 *   documentation says only "Health returns an error"); AWSOrganizationsNotInUseException is an Organizations
 *   error, and the code and status Health really sends here are unconfirmed;
 * - an unknown operation (400 UnknownOperationException);
 * - the organization view's detail filters without an account for an account-specific event, or with one for
 *   a public event or an account the event does not affect (in `failedSet`, with the two messages
 *   service-2.json's OrganizationEventDetailsErrorItem.errorMessage documents; see below).
 * Fault on demand: `unavailable`, 503 ServiceUnavailableException, as a region in an outage.
 * Does not model: throttling, paging (nextToken), DescribeAffectedEntities, checking the signature itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpServer } from '../shared/loopback.js';

/** An event as the regional server holds it; times are Unix seconds. */
export interface HealthApiEvent {
  service: string;
  region: string;
  eventTypeCode: string;
  statusCode: 'open' | 'closed' | 'upcoming';
  startTime: number;
  description?: string;
  /** An account-specific event's affected accounts; without them the event is public. */
  accounts?: string[];
}

const JSON_11 = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'AWSHealth_20160804.';

interface Filter {
  regions?: string[];
  services?: string[];
  eventStatusCodes?: string[];
}

/**
 * One regional AWS Health endpoint (us-east-1 or us-east-2) in the API's real
 * wire protocol: AWS JSON 1.1 `POST /` with `X-Amz-Target`, SigV4 required and
 * its credential scope checked against this region (a request signed for the
 * other region is refused, as a regional endpoint does), `filter.services`
 * limited to 10 members (ValidationException), and the organizational view
 * only when it was enabled (AWSOrganizationsNotInUseException otherwise).
 * `unavailable` answers 503 as a region in an outage.
 *
 * The organization view as the Health API reference and botocore `health/2016-08-04/service-2.json`
 * describe it: an event is PUBLIC or ACCOUNT_SPECIFIC (`eventScopeCode`); DescribeAffectedAccountsForOrganization
 * lists an event's affected accounts; DescribeEventDetailsForOrganization takes `{eventArn, awsAccountId}`
 * filters and puts a filter in `failedSet` (OrganizationEventDetailsErrorItem) when it names an account for
 * a public event or none for an account-specific one ("If you don't specify an account ID, Health returns an
 * error message because the event is specific to an account in your organization"). The `errorName` it
 * writes there is not documented: `InvalidAccountFilter` is the stand-in's.
 * Not modelled: pagination tokens, entity filters, the locale, DescribeAffectedEntities*.
 */
export async function healthApiServer(region: string, events: HealthApiEvent[], organization = false) {
  const state = {
    unavailable: false,
    targets: [] as string[],
    serviceFilters: [] as (string[] | undefined)[],
  };
  const server = await httpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  const error = (res: ServerResponse, status: number, type: string, message: string): void => {
    res.writeHead(status, { 'content-type': JSON_11, 'x-amzn-errortype': type });
    res.end(JSON.stringify({ __type: type, message }));
  };
  const arn = (e: HealthApiEvent): string =>
    `arn:aws:health:${e.region}::event/${e.service}/${e.eventTypeCode}/${e.eventTypeCode}_${e.startTime}`;
  function handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const target = String(req.headers['x-amz-target'] ?? '');
    state.targets.push(target);
    if (state.unavailable) return error(res, 503, 'ServiceUnavailableException', 'Service unavailable');
    const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/health\/aws4_request/.exec(
      String(req.headers.authorization ?? ''),
    );
    if (!scope) return error(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    if (scope[1] !== region)
      return error(res, 403, 'InvalidSignatureException', `Credential should be scoped to a valid region.`);
    const request = JSON.parse(body || '{}') as {
      filter?: Filter;
      eventArns?: string[];
      eventArn?: string;
      organizationEventDetailFilters?: { eventArn: string; awsAccountId?: string }[];
    };
    const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (op.endsWith('ForOrganization') && !organization)
      return error(
        res,
        400,
        'AWSOrganizationsNotInUseException',
        'Your account is not a member of an organization or the organizational view is not enabled.',
      );
    if (op === 'DescribeEvents' || op === 'DescribeEventsForOrganization')
      state.serviceFilters.push(request.filter?.services);
    const invalid = invalidLists(request);
    if (invalid) return error(res, 400, 'ValidationException', `1 validation error detected: ${invalid}`);
    if (op === 'DescribeAffectedAccountsForOrganization' && !request.eventArn)
      return error(
        res,
        400,
        'ValidationException',
        "1 validation error detected: Value null at 'eventArn' failed to satisfy constraint: Member must not be null",
      );
    if (op === 'DescribeEvents' || op === 'DescribeEventsForOrganization') {
      const f = request.filter ?? {};
      const found = events.filter(
        (e) =>
          (!f.regions?.length || f.regions.includes(e.region)) &&
          (!f.services?.length || f.services.includes(e.service)) &&
          (!f.eventStatusCodes?.length || f.eventStatusCodes.includes(e.statusCode)),
      );
      res.writeHead(200, { 'content-type': JSON_11 });
      return void res.end(
        JSON.stringify({
          events: found.map((e) => ({
            arn: arn(e),
            service: e.service,
            eventTypeCode: e.eventTypeCode,
            eventTypeCategory: 'issue',
            region: e.region,
            startTime: e.startTime,
            lastUpdatedTime: e.startTime,
            statusCode: e.statusCode,
            eventScopeCode: e.accounts?.length ? 'ACCOUNT_SPECIFIC' : 'PUBLIC',
          })),
        }),
      );
    }
    if (op === 'DescribeAffectedAccountsForOrganization') {
      const event = events.find((e) => arn(e) === request.eventArn);
      res.writeHead(200, { 'content-type': JSON_11 });
      return void res.end(
        JSON.stringify({
          affectedAccounts: event?.accounts ?? [],
          eventScopeCode: event?.accounts?.length ? 'ACCOUNT_SPECIFIC' : event ? 'PUBLIC' : 'NONE',
        }),
      );
    }
    if (op === 'DescribeEventDetailsForOrganization') return organizationDetails(request, res);
    if (op === 'DescribeEventDetails') {
      const wanted =
        request.eventArns ?? request.organizationEventDetailFilters?.map((f) => f.eventArn) ?? [];
      const found = events.filter((e) => wanted.includes(arn(e)));
      res.writeHead(200, { 'content-type': JSON_11 });
      return void res.end(
        JSON.stringify({
          successfulSet: found.map((e) => ({
            event: { arn: arn(e), service: e.service, region: e.region, eventTypeCode: e.eventTypeCode },
            eventDescription: { latestDescription: e.description ?? '' },
          })),
          failedSet: [],
        }),
      );
    }
    error(res, 400, 'UnknownOperationException', `unknown operation ${target}`);
  }
  /** A public event's filter must name no account, an account-specific one's an affected account. */
  function organizationDetails(
    request: { organizationEventDetailFilters?: { eventArn: string; awsAccountId?: string }[] },
    res: ServerResponse,
  ): void {
    const successfulSet: unknown[] = [];
    const failedSet: unknown[] = [];
    for (const filter of request.organizationEventDetailFilters ?? []) {
      const e = events.find((x) => arn(x) === filter.eventArn);
      const specific = Boolean(e?.accounts?.length);
      // The two messages are the ones OrganizationEventDetailsErrorItem.errorMessage documents.
      const refusal =
        !filter.awsAccountId && (!e || specific)
          ? "We couldn't find a public event that matches your request. To find an event that is account specific, you must enter an Amazon Web Services account ID in the request."
          : filter.awsAccountId && (!e || !specific || !e.accounts!.includes(filter.awsAccountId))
            ? "We couldn't find an account specific event for the specified Amazon Web Services account. To find an event that is public, you must enter a null value for the Amazon Web Services account ID in the request."
            : '';
      if (refusal) {
        failedSet.push({
          eventArn: filter.eventArn,
          awsAccountId: filter.awsAccountId,
          errorName: 'InvalidAccountFilter',
          errorMessage: refusal,
        });
        continue;
      }
      successfulSet.push({
        awsAccountId: filter.awsAccountId,
        event: { arn: arn(e!), service: e!.service, region: e!.region, eventTypeCode: e!.eventTypeCode },
        eventDescription: { latestDescription: e!.description ?? '' },
      });
    }
    res.writeHead(200, { 'content-type': JSON_11 });
    res.end(JSON.stringify({ successfulSet, failedSet }));
  }
  return { url: server.url, state, close: server.close };
}

/**
 * The first list in a request longer (or, when given, shorter) than botocore health service-2.json allows:
 * serviceList, regionList, eventArnList and OrganizationEventDetailFiltersList hold 1-10 members,
 * eventStatusCodeList 1-6. Worded as AWS JSON services word a constraint failure.
 */
function invalidLists(request: {
  filter?: Filter;
  eventArns?: string[];
  organizationEventDetailFilters?: unknown[];
}): string {
  const lists: [string, unknown[] | undefined, number][] = [
    ['filter.services', request.filter?.services, 10],
    ['filter.regions', request.filter?.regions, 10],
    ['filter.eventStatusCodes', request.filter?.eventStatusCodes, 6],
    ['eventArns', request.eventArns, 10],
    ['organizationEventDetailFilters', request.organizationEventDetailFilters, 10],
  ];
  for (const [field, list, max] of lists) {
    if (list === undefined) continue;
    if (list.length > max)
      return `Value '[${list.map(String).join(', ')}]' at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`;
    if (list.length < 1)
      return `Value '[]' at '${field}' failed to satisfy constraint: Member must have length greater than or equal to 1`;
  }
  return '';
}
