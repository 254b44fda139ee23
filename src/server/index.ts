export { startServer, type StartServerOptions, type RunningServer } from './start.js';
export { buildApp, type BuildOptions } from './app.js';
export { ServerMetrics } from './metrics.js';
export { resolveServerOptions, type ServerOptions } from './options.js';
export { RecentCycles, toHistoryPoint } from './recent.js';
export { drReadiness } from './readiness.js';
export { signBody, SIGNATURE_HEADER } from './auth.js';
export { alertmanagerPayloadSchema, type AlertmanagerPayload } from './webhook.js';
export type * from './ports.js';
