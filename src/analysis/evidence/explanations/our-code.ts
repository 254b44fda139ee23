import { count, finding, item, whenSeen, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';

/** Our code: runtime exceptions and stack traces, memory exhaustion, workloads crashing on Ready nodes. */
export const ourCode: Explanation = {
  name: 'our code',
  weigh(f: Features): Finding[] {
    const out = [
      ...whenSeen(
        f,
        'code_bug',
        'internal_application',
        3,
        'a bug in our own code',
        'stack traces and runtime errors from our own code',
      ),
      ...whenSeen(
        f,
        'memory',
        'internal_application',
        4,
        'a memory leak or exhaustion in our workload',
        'out-of-memory kills and memory pressure: our processes exhaust memory',
      ),
    ];
    if (!f.nodes.podsOnly) return out;
    // Containers that start and exit again on healthy nodes are our workload failing (its code or its
    // configuration); pods failing on healthy nodes without that sign is a weaker hint.
    const looping = f.nodes.crashlooping > 0 || count(f, 'crashloop') > 0;
    const weight = looping ? 3 : 1;
    const says = looping
      ? 'our containers crash-loop on nodes that are all Ready'
      : 'pods crash or restart while every node is Ready';
    out.push(
      finding('internal_application', weight, 'our workloads crash while every node is Ready', [
        item('signal:eks_nodes', f.nodes.status, -weight, says),
      ]),
    );
    return out;
  },
};
