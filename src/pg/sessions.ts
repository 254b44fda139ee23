import type pg from 'pg';

/** What ending a database's application sessions did: who was ended, and who this role may not signal. */
export interface EndedSessions {
  ended: number;
  /** Sessions PostgreSQL refused to end (42501: a superuser's, or another role's without pg_signal_backend). */
  refused: Array<{ pid: number; role: string }>;
}

/**
 * Ends the client sessions of the current database other than this one, of `roles` (every other role's
 * when empty), one by one: pg_terminate_backend raises 42501 for a session the role may not signal rather
 * than returning false, and in one statement the first such session would leave the others running and
 * fail the caller. The refused ones are returned so the caller decides whether they matter.
 * `startedBefore` (a server timestamp) spares the sessions that began at or after it.
 */
export async function endSessions(
  client: pg.Client,
  roles: string[],
  startedBefore?: string,
): Promise<EndedSessions> {
  const { rows } = await client.query<{ pid: number; role: string }>(
    `SELECT pid, usename AS role FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND (cardinality($1::text[]) = 0 AND usename <> current_user OR usename = ANY($1::text[]))
        AND ($2::timestamptz IS NULL OR backend_start < $2::timestamptz)
      ORDER BY pid`,
    [roles, startedBefore ?? null],
  );
  const result: EndedSessions = { ended: 0, refused: [] };
  for (const session of rows) {
    try {
      // false: the session ended on its own in between, which is what was wanted.
      await client.query('SELECT pg_terminate_backend($1)', [session.pid]);
      result.ended++;
    } catch (error) {
      if ((error as { code?: string }).code !== '42501') throw error;
      result.refused.push(session);
    }
  }
  return result;
}

/** One line for a summary: the refused sessions by role, and the grant that would let the role end them. */
export function describeRefused(refused: EndedSessions['refused'], who = 'this role'): string {
  if (refused.length === 0) return '';
  const roles = [...new Set(refused.map((s) => s.role))].join(', ');
  return `${refused.length} session(s) of ${roles} could not be ended (${who} may not signal them: they belong to a superuser, or ${who} lacks pg_signal_backend)`;
}
