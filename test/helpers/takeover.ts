import type { PostgresCluster } from '../../src/lab/index.js';
import { ADMIN_ROLE, roleUrl } from '../../src/lab/managed.js';

/**
 * The configuration the takeover tests share: a DR failover of one logical cut-over step (no retries, so a
 * resumed attempt is the takeover's, never a retry), from `publisher` to `subscriber` in `database`.
 */
export function cutoverFailover(
  subscriber: PostgresCluster,
  publisher: PostgresCluster,
  database: string,
  sequenceGap: number,
) {
  return {
    topology: { primary: { cloud: 'aws' }, dr: { cloud: 'azure', rpo_budget_s: 300 } },
    runbooks: {
      dr_failover: {
        stages: [
          {
            name: 'database',
            steps: [
              {
                name: 'cutover',
                type: 'database',
                retries: 0,
                params: {
                  action: 'cutover',
                  subscriber: roleUrl(subscriber, ADMIN_ROLE, database),
                  publisher: roleUrl(publisher, ADMIN_ROLE, database),
                  subscription_owner: subscriber.connectionString(database),
                  sequence_gap: sequenceGap,
                },
              },
            ],
          },
        ],
      },
    },
  };
}
