import type { FastifyInstance } from 'fastify';
import type { RouteParts } from './api.js';
import { checkSignature, ReplayGuard, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './auth.js';
import { httpError } from './http-error.js';
import { errorResponse, fromZod, jsonResponse } from './openapi.js';
import { AlertCoalescer, alertmanagerPayloadSchema, type AlertmanagerPayload } from './webhook.js';

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * `POST /api/webhooks/alertmanager`: a bearer token of the webhook or operate role (what
 * Alertmanager sends), or, when `server.webhook.secret` is set, an HMAC over timestamp and body.
 */
export async function registerWebhook(app: FastifyInstance, parts: RouteParts): Promise<void> {
  const { options, deps, metrics, guard, audit, now } = parts;
  const coalescer = new AlertCoalescer(options.webhook.match, options.webhook.dedup_window_s);
  const replays = new ReplayGuard(now(), deps.signatures);
  await app.register(async (scope) => {
    // The signature covers the exact bytes sent, so keep them before parsing.
    const parseJson = scope.getDefaultJsonParser('error', 'error');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      request.rawBody = body as string;
      parseJson(request, body as string, (error, value) => {
        if (error) done(httpError(400, `the body is not valid JSON: ${error.message}`), undefined);
        else done(null, value);
      });
    });
    scope.addHook('preValidation', async (request, reply) => {
      const secret = options.webhook.secret;
      if (request.caller.role !== 'none' || !secret) return; // a token passed (or was refused) already
      const signature = header(request.headers[SIGNATURE_HEADER]);
      const problem = checkSignature(
        secret,
        { body: request.rawBody ?? '', signature, timestamp: header(request.headers[TIMESTAMP_HEADER]) },
        now(),
      );
      if (problem) return guard.refuse(request, reply, 401, problem);
      const signedAt = Number(header(request.headers[TIMESTAMP_HEADER]));
      const replay = await replays.refusal(signature!, signedAt, now());
      if (replay) return guard.refuse(request, reply, 409, replay);
      request.caller = { name: 'webhook-signature', role: 'webhook' };
    });
    scope.post(
      '/api/webhooks/alertmanager',
      {
        config: { role: 'webhook', ...guard.limited },
        schema: {
          summary: "Prometheus Alertmanager's webhook (payload v4): a matching firing alert runs a cycle",
          body: fromZod(alertmanagerPayloadSchema, 'not an Alertmanager v4 payload: '),
          response: {
            202: jsonResponse('accepted, duplicates, ignored, and whether a cycle was started'),
            400: errorResponse('not an Alertmanager v4 payload (the field named), or not JSON'),
            409: errorResponse('a signature already accepted (replay)'),
            429: errorResponse('too many requests (server.rate_limit)'),
          },
        },
      },
      async (request, reply) => {
        const outcome = coalescer.consider(request.body as AlertmanagerPayload, now());
        metrics.webhookAlerts.inc({ outcome: 'accepted' }, outcome.accepted.length);
        metrics.webhookAlerts.inc({ outcome: 'duplicate' }, outcome.duplicates.length);
        metrics.webhookAlerts.inc({ outcome: 'ignored' }, outcome.ignored);
        if (outcome.triggered && outcome.reason) {
          const trigger = deps.trigger;
          if (!trigger) throw httpError(503, 'the controller is not available in this process');
          audit.info(
            { reason: outcome.reason, alerts: outcome.accepted.length, by: request.caller.name },
            'webhook starts a cycle',
          );
          void Promise.resolve(trigger.runCycleNow(outcome.reason)).catch((error) =>
            request.log.error({ err: error }, 'cycle started by the webhook failed'),
          );
        }
        return reply.code(202).send(outcome);
      },
    );
  });
}
