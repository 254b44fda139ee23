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
  azuriteHandle,
  azuriteConnectionString,
  S3RVER_CREDENTIALS,
  AZURITE_ACCOUNT,
  type S3Server,
  type AzuriteServer,
} from './objectstores.js';
export { isRunning, stopProcess, killProcess, spawnDaemon, waitUntil } from './process.js';
