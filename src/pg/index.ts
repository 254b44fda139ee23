// PostgreSQL connections for every adapter that opens one (probes, step actions, drills): no adapter
// depends on another for them.
export { withClient, PgConnectError, type ClientOptions } from './client.js';
// Redaction has one home (src/log); re-exported for the adapters that name their servers.
export { redact } from '../log/index.js';
export { endSessions, describeRefused, type EndedSessions } from './sessions.js';
