import type { Analysis, Level } from '../core/index.js';
import type { AnalysisInput, Analyzer } from './analyzer.js';
import { opinionToAnalysis, type LlmAnalyzer, type LlmOpinion } from './llm/index.js';

function summarize(opinion: LlmOpinion): string {
  if (!opinion.ok || !opinion.answer) return `the LLM gave no usable answer (${opinion.problem})`;
  const a = opinion.answer;
  return `the LLM says ${a.recommended_action} (${a.root_cause_category}, ${a.confidence} confidence): ${a.root_cause}`;
}

/**
 * The deterministic evidence analyzer plus the LLM second opinion. DR needs
 * both: evidence recommending trigger_dr and the LLM recommending trigger_dr
 * with high confidence for a category DR can fix. When they disagree about a
 * failover the recommendation is `escalate` (a human approves), never the
 * failover. The LLM is asked only at the levels it wants, inside its time
 * budget, so it never holds a cycle up for long; without a usable answer the
 * evidence stands for everything except a failover.
 */
export class EnsembleAnalyzer implements Analyzer {
  readonly name = 'ensemble';
  readonly gated = true;

  constructor(
    private readonly evidence: Analyzer,
    private readonly llm: LlmAnalyzer,
  ) {}

  wants(level: Level): boolean {
    return this.evidence.wants(level);
  }

  async analyze(input: AnalysisInput): Promise<Analysis> {
    const evidence = await this.evidence.analyze(input);
    // A failover the impact assessment carries below the LLM's levels still needs its second opinion.
    const failover =
      evidence.recommended_action === 'trigger_dr' || evidence.recommended_action === 'region_failover';
    if (!this.llm.wants(input.score.level) && !failover) {
      return { ...evidence, analyzer: this.name, extra: { ...evidence.extra, llm: { consulted: false } } };
    }
    const opinion = await this.llm.consult(input);
    const llm = opinionToAnalysis(opinion, input, { alone: false });
    const extra = {
      ...evidence.extra,
      llm: { consulted: true, ...opinion.record },
      evidence_analysis: evidence,
    };
    const base: Analysis = { ...evidence, analyzer: this.name, extra };
    const ev = evidence.recommended_action;
    const llmRec = llm.recommended_action;
    const llmValid = opinion.ok;
    const llmSure = llmValid && llm.confidence === 'high';
    const said = summarize(opinion);

    const escalate = (why: string): Analysis => ({
      ...base,
      recommended_action: 'escalate',
      confidence: 'low',
      reasoning: `${why}; a human decides. Evidence: ${evidence.reasoning} LLM: ${said}.`,
    });

    if (ev === 'trigger_dr') {
      // opinionToAnalysis has already held back an unsure or wrong-category trigger_dr.
      if (llmRec === 'trigger_dr' && llmSure)
        return { ...base, reasoning: `${evidence.reasoning} The LLM agrees: ${opinion.answer?.root_cause}` };
      return escalate('the evidence recommends DR but the LLM second opinion does not confirm it');
    }
    if (ev === 'region_failover') {
      if (!llmValid || llmRec === 'region_failover' || opinion.answer?.recommended_action === 'trigger_dr')
        return { ...base, reasoning: `${evidence.reasoning} (${said})` };
      return escalate('the evidence recommends a region failover but the LLM disagrees');
    }
    const llmWantsFailover =
      llmValid &&
      (opinion.answer?.recommended_action === 'trigger_dr' ||
        opinion.answer?.recommended_action === 'region_failover') &&
      opinion.answer?.confidence === 'high';
    if (llmWantsFailover) return escalate(`the LLM recommends a failover that the evidence does not support`);
    return { ...base, reasoning: `${evidence.reasoning} (${said})` };
  }
}
