import type { Command } from 'commander';
import { ANALYZER_NAMES, createAnalyzer, type AnalyzerName } from '../../analysis/index.js';
import { loadConfig } from '../../config/index.js';
import type { IncidentContext, StatusFeed } from '../../core/index.js';
import { createContextGatherer, type SourceReport } from '../../context/index.js';
import { DecisionEngine, type CycleResult } from '../../decision/index.js';
import { createSignalSource } from '../../signals/index.js';
import { UserError } from '../errors.js';
import { print } from '../output.js';

interface AnalyzeFlags {
  config: string;
  json?: boolean;
  analyzer?: string;
}

function ago(now: number, at: number | undefined): string {
  if (at === undefined) return '';
  const s = Math.round(now - at);
  if (Math.abs(s) < 90) return `${s}s ago`;
  if (Math.abs(s) < 5400) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

function feedLine(feed: StatusFeed | undefined): string {
  if (!feed) return 'not configured';
  if (!feed.available) return `unavailable: ${feed.detail ?? 'no reason given'}`;
  const incidents = feed.incidents ?? [];
  if (incidents.length === 0) return 'no open incidents';
  return `${incidents.length} open: ${incidents.map((i) => `${i.name} [${i.impact}, ${i.status}]`).join('; ')}`;
}

/** The gathered context as a person reads it: one line per source, then the items. */
export function formatContext(context: IncidentContext, reports: SourceReport[], now: number): string {
  const lines: string[] = ['context:'];
  const aws = context.aws_health;
  lines.push(
    `  aws_health    ${
      !aws
        ? 'not configured'
        : !aws.available
          ? `unavailable: ${aws.detail ?? ''}`
          : `${aws.events?.length ?? 0} events${(aws.events ?? [])
              .map(
                (e) =>
                  `\n      ${e.service}@${e.region} ${e.eventTypeCode} ${e.statusCode} ${ago(now, e.startTime)}${e.description ? `: ${e.description.slice(0, 100)}` : ''}`,
              )
              .join('')}`
    }`,
  );
  lines.push(`  cloudflare    ${feedLine(context.cloudflare)}`);
  lines.push(`  azure_status  ${feedLine(context.azure_status)}`);
  for (const [name, feed] of Object.entries(context.status_pages ?? {}))
    lines.push(`  ${name.padEnd(13)} ${feedLine(feed)}`);
  const metrics = Object.entries(context.metrics ?? {});
  lines.push(
    `  metrics       ${metrics.length ? metrics.map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`).join(' ') : 'none'}`,
  );
  const logs = context.logs ?? [];
  lines.push(`  logs          ${logs.length} lines`);
  for (const l of logs.slice(-5))
    lines.push(`      ${l.service ?? '-'} ${l.level ?? ''} ${JSON.stringify(l.line.slice(0, 140))}`);
  const changes = context.changes ?? [];
  lines.push(`  changes       ${changes.length}`);
  for (const c of changes.slice(-8))
    lines.push(`      ${ago(now, c.at)} ${c.kind} ${c.service ?? ''}: ${c.description}`);
  if (reports.length) {
    lines.push('sources:');
    for (const r of reports)
      lines.push(
        `  ${r.source.padEnd(24)} ${r.ok ? 'ok  ' : 'FAIL'} ${String(r.latency_ms).padStart(5)} ms${r.detail ? `  ${r.detail}` : ''}`,
      );
  }
  return lines.join('\n');
}

function formatResult(result: CycleResult, analyzer: string): string {
  const { score, analysis, decision } = result;
  const lines = [
    `score ${score.score} (level ${score.level}): ${
      score.contributions
        .filter((c) => c.weight > 0)
        .map((c) => `${c.signal} ${c.status} +${c.weight}`)
        .join(', ') || 'every signal ok'
    }`,
  ];
  if (!analysis) {
    lines.push(`analysis: ${analyzer} was not consulted at level ${score.level}`);
  } else {
    lines.push(
      `analysis (${analysis.analyzer}): ${analysis.recommended_action}, ${analysis.root_cause_category}, ${analysis.confidence} confidence`,
      `  root cause: ${analysis.root_cause}`,
      `  reasoning:  ${analysis.reasoning}`,
    );
    const llm = analysis.extra?.llm as { latency_ms?: number; problem?: string; model?: string } | undefined;
    if (llm?.latency_ms !== undefined)
      lines.push(
        `  llm:        ${llm.model ?? ''} answered in ${llm.latency_ms} ms${llm.problem ? ` (${llm.problem})` : ''}`,
      );
  }
  lines.push(`decision: ${decision.action} — ${decision.reason}`);
  if (decision.blocked_by.length) lines.push(`  held back by: ${decision.blocked_by.join('; ')}`);
  return lines.join('\n');
}

export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('run the probes once, gather the live incident context, and print both with the analysis')
    .requiredOption('--config <file>', 'YAML configuration file')
    .option('--analyzer <name>', `analyzer to use (${ANALYZER_NAMES.join(', ')}); default: decision.analyzer`)
    .option('--json', 'print one JSON object: sources, context, signals, score, analysis, decision')
    .action(async (flags: AnalyzeFlags) => {
      const config = loadConfig(flags.config);
      const name = (flags.analyzer ?? config.decision.analyzer) as AnalyzerName;
      if (!ANALYZER_NAMES.includes(name))
        throw new UserError(
          `--analyzer "${flags.analyzer}" is not known; use one of ${ANALYZER_NAMES.join(', ')}`,
        );
      let analyzer;
      try {
        analyzer = createAnalyzer(name, config);
      } catch (error) {
        throw new UserError((error as Error).message);
      }
      const now = Date.now() / 1000;
      const probes = createSignalSource(config);
      const gatherer = createContextGatherer(config);
      try {
        const [signals, context] = await Promise.all([probes.collect(now), gatherer.gather(now)]);
        const result = await new DecisionEngine(config, analyzer).cycle({ now, signals, context });
        if (flags.json) {
          print(
            JSON.stringify({
              at: now,
              analyzer: name,
              sources: gatherer.lastReport,
              context,
              signals,
              score: result.score,
              analysis: result.analysis,
              decision: result.decision,
            }) + '\n',
          );
        } else {
          print(
            `${flags.config}: live context and analysis (${name}) at ${new Date(now * 1000).toISOString()}\n` +
              `${formatContext(context, gatherer.lastReport, now)}\n${formatResult(result, name)}\n`,
          );
        }
      } finally {
        gatherer.close();
        await probes.close();
      }
    });
}
