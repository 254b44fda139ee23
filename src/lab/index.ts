export { freePort, freePortOn } from './ports.js';
export {
  findPostgresBin,
  startPrimary,
  startStandby,
  clusterHandle,
  query,
  type PostgresCluster,
} from './postgres.js';
export { startBind, bindHandle, findNamed, type BindServer, type DnsRecord, type TsigKey } from './bind.js';
export {
  startS3Server,
  startAzurite,
  s3Handle,
  azuriteBlobMain,
  azuriteHandle,
  azuriteConnectionString,
  S3RVER_CREDENTIALS,
  AZURITE_ACCOUNT,
  type S3Server,
  type AzuriteServer,
} from './objectstores.js';
export {
  isRunning,
  stopProcess,
  killProcess,
  spawnDaemon,
  waitUntil,
  processesUsing,
  type LabProcess,
} from './process.js';
export {
  labUp,
  labDown,
  labStatus,
  startLabApp,
  resolveApp,
  DEFAULT_LAB_DIR,
  type Site,
  type LabReplication,
  type LabStatus,
  type ComponentStatus,
} from './lab.js';
export { LAB_ZONE, LAB_DATABASE, LAB_BUCKET, LAB_CONTAINER } from './names.js';
export { readLabState, type LabState, type LabAppState } from './state.js';
export { ObjectSync, type ObjectSyncSettings } from './objectsync.js';
export { startApp, ITEMS_SCHEMA, type AppSettings } from './app.js';
