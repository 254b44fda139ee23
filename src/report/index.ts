import type { PhoenixConfig } from '../config/index.js';
import type { SqlDb, SqliteDatabase } from '../store/index.js';
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
  stageDidNothing,
  continuedSteps,
  continuedReasons,
  ContinuedFailures,
  type ContinuedStep,
} from './labels.js';

/** The evidence report of run or drill `id`, read from the store now. */
export async function evidenceReport(
  db: SqlDb | SqliteDatabase,
  config: PhoenixConfig,
  id: string,
  now: number,
): Promise<EvidenceReport> {
  return buildEvidenceReport(await loadReportRows(db, config, id), now);
}
