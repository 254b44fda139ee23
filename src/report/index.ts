import type { PhoenixConfig } from '../config/index.js';
import type { SqliteDatabase } from '../store/index.js';
import { loadReportRows } from './load.js';
import { buildEvidenceReport, type EvidenceReport } from './model.js';

export {
  buildEvidenceReport,
  TIMELINE_AFTER_S,
  TIMELINE_BEFORE_S,
  type EvidenceReport,
  type ReportRows,
  type ReportStage,
  type DrillFacts,
} from './model.js';
export { loadReportRows, UnknownRunError } from './load.js';
export { renderHtml, escapeHtml } from './html.js';
export { renderPdf, requireChromium, chromiumPath, ChromiumMissingError, DEFAULT_CHROMIUM } from './pdf.js';
export {
  stageLabel,
  continuedSteps,
  continuedReasons,
  ContinuedFailures,
  type ContinuedStep,
} from './labels.js';

/** The evidence report of run or drill `id`, read from the store now. */
export function evidenceReport(
  db: SqliteDatabase,
  config: PhoenixConfig,
  id: string,
  now: number,
): EvidenceReport {
  return buildEvidenceReport(loadReportRows(db, config, id), now);
}
