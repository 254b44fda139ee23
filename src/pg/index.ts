// PostgreSQL connections for every adapter that opens one (probes, step actions, drills): no adapter
// depends on another for them.
export { withClient, redact, PgConnectError, type ClientOptions } from './client.js';
export { endSessions, describeRefused, type EndedSessions } from './sessions.js';
