import { finding, item, whenSeen, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';
import { isBad } from '../signal-views.js';

/** Our data: a full volume, our own write load outrunning replication, contention from our workload. */
export const ourData: Explanation = {
  name: 'our data',
  weigh(f: Features, cloud): Finding[] {
    const out =
      cloud.strength <= 2
        ? whenSeen(
            f,
            'disk_full',
            'internal_database',
            4,
            'a database or volume ran out of space',
            'storage is full: our data outgrew its volume',
          )
        : [];
    if (!isBad(f.db.status)) return out;
    const writes = f.metrics.writeRatio;
    if (writes !== undefined && writes >= 3)
      out.push(
        finding('internal_database', 2, 'our own write load outruns replication', [
          item(
            'context:metrics',
            `write volume x${writes.toFixed(0)}`,
            -2,
            'write/WAL volume grew far above its baseline',
          ),
        ]),
      );
    out.push(
      ...whenSeen(
        f,
        'db_contention',
        'internal_database',
        1,
        'database contention from our own workload',
        'replica conflicts and lock timeouts',
      ),
    );
    return out;
  },
};
