import { z } from 'zod';

/** HTTP API, webhooks, dashboard and notifications (issue: HTTP API and dashboard). */
export const serverSchema = z.object({}).catchall(z.unknown());
export const notificationsSchema = z.object({}).catchall(z.unknown());
