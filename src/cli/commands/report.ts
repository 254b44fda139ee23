import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  ChromiumMissingError,
  evidenceReport,
  renderHtml,
  renderPdf,
  requireChromium,
  UnknownRunError,
} from '../../report/index.js';
import { UserError } from '../errors.js';
import { loadRunbookConfig, openStore } from './journal-access.js';
import { printErr } from '../output.js';
import { redactDeep } from '../../log/redact.js';
import { escapeControl } from '../../log/terminal.js';

const FORMATS = ['html', 'pdf', 'json'] as const;
type Format = (typeof FORMATS)[number];

interface ReportFlags {
  config?: string;
  format: string;
  out?: string;
}

async function render(format: Format, flags: ReportFlags, id: string): Promise<string | Buffer> {
  if (format === 'pdf') asUserError(requireChromium);
  const config = loadRunbookConfig(flags, true);
  const db = await openStore(config);
  let report;
  try {
    report = await evidenceReport(db, config, id, Date.now() / 1000);
  } catch (error) {
    if (error instanceof UnknownRunError) throw new UserError(error.message);
    throw error;
  } finally {
    await db.close();
  }
  // A report is handed on as a file and printed to terminals: no credential and no raw control character
  // from what steps and servers wrote (JSON keeps its meaning: the escapes are JSON's own \uXXXX).
  report = redactDeep(report);
  if (format === 'json') return escapeControl(JSON.stringify(report, null, 2)) + '\n';
  const html = escapeControl(renderHtml(report));
  if (format === 'html') return html;
  return renderPdf(html);
}

/** Chromium's absence as a one-line error naming the fix. */
function asUserError(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof ChromiumMissingError) throw new UserError(error.message);
    throw error;
  }
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'the evidence report of a run or drill: timeline, decision and its evidence, approvals, stages and steps, RTO and RPO against their targets, cleanup',
    )
    .argument('<run-id>', 'a run id (phoenix runs) or a scheduled drill id')
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--format <format>', `${FORMATS.join(', ')} (pdf is printed by headless Chromium)`, 'html')
    .option('--out <file>', 'write the report here instead of standard output (a PDF needs --out)')
    .action(async (id: string, flags: ReportFlags) => {
      if (!FORMATS.includes(flags.format as Format))
        throw new UserError(`--format "${flags.format}" is not known; use one of ${FORMATS.join(', ')}`);
      const format = flags.format as Format;
      if (format === 'pdf' && !flags.out)
        throw new UserError('a PDF report is binary: pass --out FILE (e.g. --out report.pdf)');
      const output = await render(format, flags, id);
      if (flags.out) {
        writeFileSync(flags.out, output);
        printErr(`report of ${id} written to ${flags.out}\n`);
      } else process.stdout.write(output);
    });
}
