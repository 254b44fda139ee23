export {
  ContextGatherer,
  createContextGatherer,
  type ContextPart,
  type GathererOptions,
  type SourceReport,
} from './gatherer.js';
export { ChangeStore, CHANGE_KINDS, type RecordedChange } from './changes.js';
export { AwsHealthGatherer, type AwsHealthSettings } from './aws-health.js';
export { gatherStatusPage, type StatusPageSettings } from './statuspage.js';
export { gatherMetrics, queryMetric, type MetricQuery, type PrometheusSettings } from './prometheus.js';
export { gatherLogs, type LokiSettings } from './loki.js';
export { KubernetesChangesGatherer, type KubernetesSettings } from './kubernetes.js';
export { SourceError } from './http.js';
