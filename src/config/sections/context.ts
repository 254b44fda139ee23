import { z } from 'zod';

/** Context gatherers and the LLM analyzer (issue: incident context and LLM). */
export const contextSchema = z.object({}).catchall(z.unknown());
export const llmSchema = z.object({}).catchall(z.unknown());
