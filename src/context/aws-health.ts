import { Resolver } from 'node:dns/promises';
import {
  DescribeAffectedAccountsForOrganizationCommand,
  DescribeEventDetailsCommand,
  DescribeEventDetailsForOrganizationCommand,
  DescribeEventsCommand,
  DescribeEventsForOrganizationCommand,
  HealthClient,
  type Event as HealthEvent,
} from '@aws-sdk/client-health';
import type { AwsEventCategory, AwsEventStatus, AwsHealthEvent, AwsHealthFeed } from '../core/index.js';
import { oneLine, SourceError } from './http.js';

/**
 * AWS Health runs active-passive in these two regions behind one global name
 * (the AWS Health user guide, "Choosing endpoints for AWS Health API
 * requests"); a client built for any other region calls a host that does not exist.
 */
export const HEALTH_REGIONS = ['us-east-1', 'us-east-2'] as const;
export type HealthRegion = (typeof HEALTH_REGIONS)[number];
/** Its CNAME names the active regional endpoint, e.g. `health.us-east-1.amazonaws.com.`. */
export const HEALTH_GLOBAL_NAME = 'global.health.amazonaws.com';
/** DescribeEvents' `filter.services` takes at most 10 members (EventFilter in the Health API reference). */
export const HEALTH_MAX_SERVICES = 10;

export interface AwsHealthSettings {
  /** Explicit override: only this endpoint, signed for `region`; no failover. */
  endpoint?: string;
  /** Signing region for `endpoint` (default us-east-1). */
  region?: string;
  /** Per-region endpoint overrides (VPC endpoints, or local servers in tests). */
  endpoints?: Partial<Record<HealthRegion, string>>;
  /** The name whose CNAME tells the active region, and the DNS servers to ask (default: the system's). */
  globalName?: string;
  dnsServers?: string[];
  /** How long one region may take before the other is tried, ms (default 2500). */
  attemptTimeoutMs?: number;
  /** DescribeEventsForOrganization: the organization's events, for a controller in a delegated admin account. */
  organization?: boolean;
  /** Regions that matter to us; `global` is always added. */
  regions: string[];
  /** AWS Health service names (EC2, RDS, EKS, S3); empty: any. */
  services: string[];
  details: boolean;
  since: number;
  /** Tests pass static credentials; otherwise the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const CATEGORIES: readonly AwsEventCategory[] = [
  'issue',
  'scheduledChange',
  'accountNotification',
  'investigation',
];
const STATUSES: readonly AwsEventStatus[] = ['open', 'closed', 'upcoming'];
const MAX_PAGES = 5;

interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function describeAwsError(error: unknown): string {
  const e = error as AwsError;
  if (e?.name === 'SubscriptionRequiredException') return 'unavailable: needs a Business support plan';
  if (e?.name === 'CredentialsProviderError')
    return 'unavailable: no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)';
  if (e?.name === 'AWSOrganizationsNotInUseException')
    return 'unavailable: organizational view is not enabled (EnableHealthServiceAccessForOrganization), or set organization: false';
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'no answer in time';
  const status = e?.$metadata?.httpStatusCode;
  return `${e?.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${oneLine(e?.message ?? String(error), 160)}`;
}

/**
 * Whether the other Health region may answer where this one did not: the
 * region is down or unreachable (transport failure, 5xx, no answer in time).
 * Missing plan, credentials or permissions are the same in both regions.
 */
export function isRegionalFailure(error: unknown): boolean {
  const e = error as AwsError;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  return !['SubscriptionRequiredException', 'CredentialsProviderError'].includes(e?.name ?? '');
}

/** The active Health region as the global name's CNAME tells it, or undefined when DNS cannot say. */
export async function activeHealthRegion(
  name = HEALTH_GLOBAL_NAME,
  servers?: string[],
): Promise<HealthRegion | undefined> {
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  if (servers?.length) resolver.setServers(servers);
  try {
    const [target] = await resolver.resolveCname(name);
    const region = /^health\.([a-z0-9-]+)\.amazonaws\.com\.?$/i.exec(target ?? '')?.[1]?.toLowerCase();
    return HEALTH_REGIONS.find((r) => r === region);
  } catch {
    return undefined;
  }
}

/** `services` in groups the API accepts; one empty group means "any service". */
export function serviceBatches(services: string[]): (string[] | undefined)[] {
  if (services.length === 0) return [undefined];
  const batches: string[][] = [];
  for (let i = 0; i < services.length; i += HEALTH_MAX_SERVICES)
    batches.push(services.slice(i, i + HEALTH_MAX_SERVICES));
  return batches;
}

function mapEvent(e: HealthEvent, description: string | undefined): AwsHealthEvent {
  return {
    service: e.service ?? 'unknown',
    region: e.region ?? 'unknown',
    eventTypeCode: e.eventTypeCode ?? 'unknown',
    eventTypeCategory: CATEGORIES.includes(e.eventTypeCategory as AwsEventCategory)
      ? (e.eventTypeCategory as AwsEventCategory)
      : 'issue',
    statusCode: STATUSES.includes(e.statusCode as AwsEventStatus) ? (e.statusCode as AwsEventStatus) : 'open',
    startTime: e.startTime ? e.startTime.getTime() / 1000 : undefined,
    description,
  };
}

/**
 * AWS Health DescribeEvents (or DescribeEventsForOrganization), filtered to
 * our regions (plus `global`) and services, open and upcoming events updated
 * inside the window; optionally the latest description of each. Calls the
 * region the global name points at first and the other Health region when
 * that one is down, so the feed survives the us-east-1 outage it should explain.
 */
export class AwsHealthGatherer {
  private readonly clients = new Map<string, HealthClient>();
  /** The region whose endpoint answered last (for status output and tests). */
  answeredFrom?: string;
  /** How the last gather went: the region that answered and what the ones tried before it said. */
  lastRoute = '';

  constructor(private readonly settings: AwsHealthSettings) {}

  private client(region: string, endpoint: string | undefined): HealthClient {
    const key = `${region} ${endpoint ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      const s = this.settings;
      client = new HealthClient({ region, endpoint, credentials: s.credentials, maxAttempts: 1 });
      this.clients.set(key, client);
    }
    return client;
  }

  /** Signing region and endpoint to try, in order. */
  private async route(): Promise<{ region: string; endpoint?: string }[]> {
    const s = this.settings;
    if (s.endpoint) return [{ region: s.region ?? 'us-east-1', endpoint: s.endpoint }];
    const active =
      (await activeHealthRegion(s.globalName, s.dnsServers)) ??
      HEALTH_REGIONS.find((r) => r === this.answeredFrom) ??
      HEALTH_REGIONS[0];
    const order = [active, ...HEALTH_REGIONS.filter((r) => r !== active)];
    return order.map((region) => ({ region, endpoint: s.endpoints?.[region] }));
  }

  async gather(now: number, signal: AbortSignal): Promise<AwsHealthFeed> {
    const failures: string[] = [];
    const routes = await this.route();
    for (const { region, endpoint } of routes) {
      const client = this.client(region, endpoint);
      // With a region left to try, one region may not use up the whole deadline.
      const attempt =
        routes.length > 1
          ? AbortSignal.any([signal, AbortSignal.timeout(this.settings.attemptTimeoutMs ?? 2500)])
          : signal;
      let events: HealthEvent[];
      try {
        events = await this.fetchEvents(client, now, attempt);
      } catch (error) {
        failures.push(`${routes.length > 1 ? `${region}: ` : ''}${describeAwsError(error)}`);
        if (signal.aborted || !isRegionalFailure(error)) break;
        continue;
      }
      this.answeredFrom = region;
      this.lastRoute = `answered by ${endpoint && routes.length === 1 ? endpoint : region}${failures.length ? ` after ${failures.join('; ')}` : ''}`;
      return this.finish(client, events, signal);
    }
    throw new SourceError(failures.join('; '));
  }

  private async finish(
    client: HealthClient,
    events: HealthEvent[],
    signal: AbortSignal,
  ): Promise<AwsHealthFeed> {
    const s = this.settings;
    const regions = new Set([...s.regions, 'global']);
    const wanted = new Set(s.services.map((x) => x.toUpperCase()));
    const unique = [...new Map(events.map((e, i) => [e.arn ?? `#${i}`, e])).values()];
    const ours = unique.filter(
      (e) =>
        regions.has(e.region ?? '') && (wanted.size === 0 || wanted.has((e.service ?? '').toUpperCase())),
    );
    const descriptions = s.details ? await this.describe(client, ours, signal) : new Map<string, string>();
    return {
      available: true,
      events: ours.map((e) => mapEvent(e, e.arn ? descriptions.get(e.arn) : undefined)),
    };
  }

  private async fetchEvents(client: HealthClient, now: number, signal: AbortSignal): Promise<HealthEvent[]> {
    const s = this.settings;
    const regions = [...new Set([...s.regions, 'global'])];
    const from = new Date((now - s.since) * 1000);
    const events: HealthEvent[] = [];
    for (const services of serviceBatches(s.services)) {
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const common = { regions, services, eventStatusCodes: ['open' as const, 'upcoming' as const] };
        const out = s.organization
          ? await client.send(
              new DescribeEventsForOrganizationCommand({
                filter: { ...common, lastUpdatedTime: { from } },
                maxResults: 100,
                nextToken,
              }),
              { abortSignal: signal },
            )
          : await client.send(
              new DescribeEventsCommand({
                filter: { ...common, lastUpdatedTimes: [{ from }] },
                maxResults: 100,
                nextToken,
              }),
              { abortSignal: signal },
            );
        events.push(...((out.events ?? []) as HealthEvent[]));
        nextToken = out.nextToken;
        if (!nextToken) break;
      }
    }
    return events;
  }

  /** Latest descriptions by ARN; a failure here costs the descriptions, not the events. */
  private async describe(
    client: HealthClient,
    events: HealthEvent[],
    signal: AbortSignal,
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const arns = events.map((e) => e.arn).filter((a): a is string => Boolean(a));
    for (let i = 0; i < arns.length && i < 50; i += 10) {
      const batch = arns.slice(i, i + 10);
      try {
        const out = this.settings.organization
          ? await client.send(
              new DescribeEventDetailsForOrganizationCommand({
                organizationEventDetailFilters: await this.accountFilters(client, events, batch, signal),
              }),
              { abortSignal: signal },
            )
          : await client.send(new DescribeEventDetailsCommand({ eventArns: batch }), { abortSignal: signal });
        for (const d of out.successfulSet ?? []) {
          const text = d.eventDescription?.latestDescription;
          if (d.event?.arn && text) found.set(d.event.arn, oneLine(text, 2000));
        }
      } catch {
        break;
      }
    }
    return found;
  }

  /**
   * The organization view's detail filters: a public event is asked without an account, an account-specific
   * one with one of its affected accounts (DescribeAffectedAccountsForOrganization), or Health refuses the
   * filter (the API reference of DescribeEventDetailsForOrganization).
   */
  private async accountFilters(
    client: HealthClient,
    events: HealthEvent[],
    arns: string[],
    signal: AbortSignal,
  ): Promise<{ eventArn: string; awsAccountId?: string }[]> {
    const scope = new Map(events.map((e) => [e.arn, e.eventScopeCode]));
    return Promise.all(
      arns.map(async (eventArn) => {
        if (scope.get(eventArn) !== 'ACCOUNT_SPECIFIC') return { eventArn };
        const affected = await client.send(new DescribeAffectedAccountsForOrganizationCommand({ eventArn }), {
          abortSignal: signal,
        });
        return { eventArn, awsAccountId: affected.affectedAccounts?.[0] };
      }),
    );
  }

  destroy(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
