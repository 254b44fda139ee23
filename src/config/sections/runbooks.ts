import { z } from 'zod';

/** Runbooks (issue: durable failover runbook). */
export const runbooksSchema = z.object({}).catchall(z.unknown());
