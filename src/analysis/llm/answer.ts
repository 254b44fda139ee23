import { z } from 'zod';
import { ROOT_CAUSE_CATEGORIES } from '../../core/index.js';

export const RECOMMENDED_ACTIONS = [
  'trigger_dr',
  'region_failover',
  'self_heal',
  'none',
  'escalate',
] as const;

/** The seed's answer object. Extra fields are allowed (and kept in the record), missing or unknown values are not. */
export const llmAnswerSchema = z.looseObject({
  root_cause: z.string().min(1).max(4000),
  root_cause_category: z.enum(ROOT_CAUSE_CATEGORIES),
  confidence: z.enum(['low', 'medium', 'high']),
  recommended_action: z.enum(RECOMMENDED_ACTIONS),
  reasoning: z.string().min(1).max(8000),
});

export type LlmAnswer = z.output<typeof llmAnswerSchema>;

/** The same shape as a JSON Schema, for structured output (OpenAI strict mode needs every key required). */
export const LLM_ANSWER_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['root_cause', 'root_cause_category', 'confidence', 'recommended_action', 'reasoning'],
  properties: {
    root_cause: { type: 'string', description: 'One sentence naming the most likely cause.' },
    root_cause_category: { type: 'string', enum: [...ROOT_CAUSE_CATEGORIES] },
    confidence: { type: 'string', enum: ['low', 'medium', 'high'] },
    recommended_action: { type: 'string', enum: [...RECOMMENDED_ACTIONS] },
    reasoning: { type: 'string', description: 'The facts from the data sections the conclusion rests on.' },
  },
} as const;

export type ParsedAnswer = { ok: true; answer: LlmAnswer } | { ok: false; problem: string };

/** Pulls the JSON object out of a model's text (bare, or inside one ```json fence) and validates it. */
export function parseAnswer(raw: unknown): ParsedAnswer {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    const text = raw.trim();
    const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(text);
    try {
      value = JSON.parse(fenced ? fenced[1] : text);
    } catch {
      return { ok: false, problem: `the answer is not valid JSON: ${JSON.stringify(text.slice(0, 120))}` };
    }
  }
  const result = llmAnswerSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return { ok: false, problem: `the answer does not match the schema: ${issues}` };
  }
  return { ok: true, answer: result.data };
}
