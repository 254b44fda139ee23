import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { httpError } from './http-error.js';
import { describePayloadError } from './webhook.js';

/** The zod schema behind each route JSON Schema made by `fromZod`, so the route is validated by zod itself. */
const ZOD = new WeakMap<object, { schema: z.ZodType; prefix: string }>();

/**
 * A zod schema as the JSON Schema of a route part (params, querystring, body): Fastify validates the part
 * with the zod schema (its messages name the field and the fix, as before), and the OpenAPI document shows
 * the JSON Schema. `prefix` starts the 400's message (what the payload should have been).
 */
export function fromZod(schema: z.ZodType, prefix = ''): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  ZOD.set(json, { schema, prefix });
  return json;
}

/** A response's description and, for JSON answers, its shape (documentation: answers are JSON.stringify'd). */
export interface ResponseDoc {
  description: string;
  content?: Record<string, { schema: Record<string, unknown> }>;
}

const ERROR_BODY = fromZod(z.object({ error: z.string().describe('what is wrong and how to fix it') }));

/** `{ error }`: every refusal's body. */
export const errorResponse = (description: string): ResponseDoc => ({
  description,
  content: { 'application/json': { schema: ERROR_BODY } },
});

export const jsonResponse = (description: string, schema?: z.ZodType): ResponseDoc => ({
  description,
  content: { 'application/json': { schema: schema ? fromZod(schema) : { type: 'object' } } },
});

/**
 * Route schemas are validated with their zod schema (a schema not made by `fromZod` is refused when the
 * route is registered, so none goes unchecked), and answers are serialized with JSON.stringify: the
 * documented response shapes never strip a field the handler sent.
 */
export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, method, url, httpPart }) => {
    const entry = ZOD.get(schema);
    if (!entry) throw new Error(`${method} ${url}: the ${httpPart} schema was not made with fromZod`);
    return (data: unknown) => {
      const parsed = entry.schema.safeParse(data ?? {});
      if (parsed.success) return { value: parsed.data };
      return { error: httpError(400, entry.prefix + describePayloadError(parsed.error)) };
    };
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

interface RouteDoc {
  method: string;
  url: string;
  schema: Record<string, unknown>;
  role?: string;
}

/** Collects every route registered with a schema; the dashboard's static files carry none and are left out. */
export function collectRoutes(app: FastifyInstance): RouteDoc[] {
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.schema || (route.schema as { hide?: boolean }).hide) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      routes.push({
        method: method.toLowerCase(),
        url: route.url,
        schema: route.schema as Record<string, unknown>,
        role: (route.config as { role?: string } | undefined)?.role,
      });
    }
  });
  return routes;
}

const ROLES: Record<string, string> = {
  read: 'a bearer token of the read or operate role (or server.anonymous: read)',
  operate: 'a bearer token of the operate role',
  webhook: 'a bearer token of the webhook or operate role, or an HMAC signature (server.webhook.secret)',
};

function parameters(schema: Record<string, unknown> | undefined, where: 'path' | 'query') {
  const properties = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(property.description ? { description: property.description } : {}),
    schema: property,
  }));
}

/** The OpenAPI 3.1 document of the routes collected, ordered by path then method so it diffs cleanly. */
export function openApiDocument(routes: RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method));
  for (const route of sorted) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const s = route.schema;
    const params = [
      ...parameters(s.params as Record<string, unknown>, 'path'),
      ...parameters(s.querystring as Record<string, unknown>, 'query'),
    ];
    const responses = Object.fromEntries(
      Object.entries((s.response ?? {}) as Record<string, ResponseDoc>).map(([code, doc]) => [code, doc]),
    );
    if (route.role) {
      responses['401'] ??= errorResponse('no credential, or one that is not valid');
      responses['403'] ??= errorResponse(`the credential's role may not do this; needs ${ROLES[route.role]}`);
    }
    (paths[path] ??= {})[route.method] = {
      summary: s.summary,
      ...(s.description ? { description: s.description } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(s.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: s.body } },
            },
          }
        : {}),
      responses,
      ...(route.role ? { security: [{ bearer: [] }], 'x-phoenix-role': route.role } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'CloudPhoenix controller HTTP API',
      version,
      description:
        'Served by `phoenix run` (server.listen). Generated from the route schemas (src/server); docs/http-api.md describes it.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'server.tokens: each token has a role (read, operate, webhook)',
        },
      },
    },
    paths,
  };
}
