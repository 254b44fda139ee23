export {
  createSignalSource,
  createSiteSignalSource,
  buildProbe,
  probeSchedule,
  ProbeSet,
  DEFAULT_PROBE_TIMEOUT_S,
  DEFAULT_CONCURRENCY,
} from './source.js';
export { runProbe, describeError, type Probe, type ProbeRunContext } from './probe.js';
export { checkHttp, statusFromShare, type HttpCheckResult } from './http.js';
export { askAgent, type AgentReport, type VantageVerdict } from './uptime.js';
export { startAgentServer, type AgentServer, type AgentServerOptions } from './agent.js';
export { kubeConfigFrom } from './kubernetes.js';
export { ReplaceableProbes, SiteProbeSets, type Probes } from './site-source.js';
