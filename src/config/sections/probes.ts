import { z } from 'zod';

/** Live probe configuration (issue: live probes and the controller). */
export const probesSchema = z.object({}).catchall(z.unknown());
