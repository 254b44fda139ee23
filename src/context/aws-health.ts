import {
  DescribeEventDetailsCommand,
  DescribeEventsCommand,
  HealthClient,
  type Event as HealthEvent,
} from '@aws-sdk/client-health';
import type { AwsEventCategory, AwsEventStatus, AwsHealthEvent, AwsHealthFeed } from '../core/index.js';
import { oneLine, SourceError } from './http.js';

export interface AwsHealthSettings {
  endpoint?: string;
  region: string;
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

function describeAwsError(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === 'SubscriptionRequiredException') return 'unavailable: needs a Business support plan';
  if (e?.name === 'CredentialsProviderError')
    return 'unavailable: no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)';
  if (e?.name === 'AbortError') return 'no answer in time';
  const status = e?.$metadata?.httpStatusCode;
  return `${e?.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${oneLine(e?.message ?? String(error), 160)}`;
}

/**
 * AWS Health DescribeEvents, filtered to our regions (plus `global`) and
 * services, open and upcoming events updated inside the window; optionally the
 * latest description of each (DescribeEventDetails, 10 at a time).
 */
export class AwsHealthGatherer {
  private readonly client: HealthClient;

  constructor(private readonly settings: AwsHealthSettings) {
    this.client = new HealthClient({
      region: settings.region,
      endpoint: settings.endpoint,
      credentials: settings.credentials,
      maxAttempts: 1,
    });
  }

  async gather(now: number, signal: AbortSignal): Promise<AwsHealthFeed> {
    const s = this.settings;
    const regions = [...new Set([...s.regions, 'global'])];
    const events: HealthEvent[] = [];
    let nextToken: string | undefined;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const out = await this.client.send(
          new DescribeEventsCommand({
            filter: {
              regions,
              services: s.services.length ? s.services : undefined,
              eventStatusCodes: ['open', 'upcoming'],
              lastUpdatedTimes: [{ from: new Date((now - s.since) * 1000) }],
            },
            maxResults: 100,
            nextToken,
          }),
          { abortSignal: signal },
        );
        events.push(...(out.events ?? []));
        nextToken = out.nextToken;
        if (!nextToken) break;
      }
    } catch (error) {
      throw new SourceError(describeAwsError(error));
    }
    const wantedServices = new Set(s.services.map((x) => x.toUpperCase()));
    const ours = events.filter(
      (e) =>
        regions.includes(e.region ?? '') &&
        (wantedServices.size === 0 || wantedServices.has((e.service ?? '').toUpperCase())),
    );
    const descriptions = s.details ? await this.describe(ours, signal) : new Map<string, string>();
    const mapped: AwsHealthEvent[] = ours.map((e) => ({
      service: e.service ?? 'unknown',
      region: e.region ?? 'unknown',
      eventTypeCode: e.eventTypeCode ?? 'unknown',
      eventTypeCategory: CATEGORIES.includes(e.eventTypeCategory as AwsEventCategory)
        ? (e.eventTypeCategory as AwsEventCategory)
        : 'issue',
      statusCode: STATUSES.includes(e.statusCode as AwsEventStatus)
        ? (e.statusCode as AwsEventStatus)
        : 'open',
      startTime: e.startTime ? e.startTime.getTime() / 1000 : undefined,
      description: e.arn ? descriptions.get(e.arn) : undefined,
    }));
    return { available: true, events: mapped };
  }

  /** Latest descriptions by ARN; a failure here costs the descriptions, not the events. */
  private async describe(events: HealthEvent[], signal: AbortSignal): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const arns = events.map((e) => e.arn).filter((a): a is string => Boolean(a));
    for (let i = 0; i < arns.length && i < 50; i += 10) {
      try {
        const out = await this.client.send(
          new DescribeEventDetailsCommand({ eventArns: arns.slice(i, i + 10) }),
          { abortSignal: signal },
        );
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

  destroy(): void {
    this.client.destroy();
  }
}
