/*
 * Stand-in for the PagerDuty Events API v2 (POST /v2/enqueue), for the notifier's and the HA tests only.
 * Refuses, as PagerDuty documents (source: the comments below): an event that is not JSON or breaks a rule
 * (400 "Event object is invalid" with each reason): routing_key missing, event_action not trigger/acknowledge/
 * resolve, dedup_key not a string of at most 255 characters or missing on acknowledge/resolve, on trigger a
 * payload.summary missing or over 1024 characters, payload.source missing, payload.severity not one of critical,
 * error, warning, info; another path.
 * It keeps alerts by dedup key as PagerDuty does (pagerduty.test.ts, store.contract.test.ts).
 * Does not model: routing keys' validity (any non-blank key is accepted), rate limits (429), the Change Events
 * API, links and images in the payload, latency (but `answerDelayMs`, default 0, answers an event that long
 * after applying it: shared/answer-delay.ts, for the kill-anywhere benchmark).
 */
import { answerAfter } from '../shared/answer-delay.js';
import { httpServer } from '../shared/loopback.js';

interface EventBody {
  routing_key?: unknown;
  event_action?: unknown;
  dedup_key?: unknown;
  payload?: { summary?: unknown; source?: unknown; severity?: unknown };
}

/** What the server's alerts look like after the events it accepted. */
export interface PagerDutyAlert {
  status: 'triggered' | 'acknowledged' | 'resolved';
  severity: string;
  summary: string;
  events: string[];
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];

/** The Events API v2 rules an event must pass, as PagerDuty documents them; each broken rule is one message. */
function invalidities(body: EventBody): string[] {
  const errors: string[] = [];
  if (typeof body.routing_key !== 'string' || !body.routing_key)
    errors.push("'routing_key' is missing or blank");
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(body.event_action)))
    errors.push("'event_action' must be one of trigger, acknowledge, resolve");
  if (body.dedup_key !== undefined && (typeof body.dedup_key !== 'string' || body.dedup_key.length > 255))
    errors.push("'dedup_key' must be a string of at most 255 characters");
  if (body.event_action !== 'trigger' && typeof body.dedup_key !== 'string')
    errors.push("'dedup_key' is required for acknowledge and resolve");
  if (body.event_action === 'trigger') {
    const p = body.payload;
    if (typeof p?.summary !== 'string' || !p.summary || p.summary.length > 1024)
      errors.push("'payload.summary' is missing or longer than 1024 characters");
    if (typeof p?.source !== 'string' || !p.source) errors.push("'payload.source' is missing or blank");
    if (!SEVERITIES.includes(String(p?.severity)))
      errors.push("'payload.severity' must be one of critical, error, warning, info");
  }
  return errors;
}

/**
 * A local PagerDuty Events API v2 (`POST /v2/enqueue`): 202 with the dedup key
 * for a valid event, 400 `Event object is invalid` with the reasons otherwise.
 * It keeps alerts by dedup key as PagerDuty does: a trigger on an open key
 * appends to it, resolve closes it, a resolve for an unknown key changes nothing.
 */
export async function pagerDutyEventsServer(options: { answerDelayMs?: number } = {}) {
  const alerts = new Map<string, PagerDutyAlert>();
  const rejected: string[][] = [];
  const server = await httpServer((req, res) => {
    answerAfter(res, options.answerDelayMs ?? 0);
    let raw = '';
    req.on('data', (c) => (raw += String(c)));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      let body: EventBody;
      try {
        body = JSON.parse(raw) as EventBody;
      } catch {
        res.statusCode = 400;
        return res.end(
          JSON.stringify({
            status: 'invalid event',
            message: 'Event object is invalid',
            errors: ['invalid JSON'],
          }),
        );
      }
      const errors = req.url === '/v2/enqueue' ? invalidities(body) : ['unknown path'];
      if (errors.length) {
        rejected.push(errors);
        res.statusCode = 400;
        return res.end(
          JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }),
        );
      }
      const key =
        typeof body.dedup_key === 'string' ? body.dedup_key : crypto.randomUUID().replaceAll('-', '');
      const action = String(body.event_action);
      const alert = alerts.get(key);
      if (action === 'trigger') {
        const open = alert && alert.status !== 'resolved' ? alert : undefined;
        alerts.set(key, {
          status: open?.status ?? 'triggered',
          severity: String(body.payload?.severity),
          summary: String(body.payload?.summary),
          events: [...(open?.events ?? []), action],
        });
      } else if (alert && alert.status !== 'resolved') {
        alert.status = action === 'resolve' ? 'resolved' : 'acknowledged';
        alert.events.push(action);
      }
      res.statusCode = 202;
      res.end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: key }));
    });
  });
  return { url: `${server.url}/v2/enqueue`, alerts, rejected, close: server.close };
}
