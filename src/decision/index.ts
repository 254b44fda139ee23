export {
  DecisionEngine,
  type CycleInput,
  type CycleResult,
  type DecisionState,
  type SiteInput,
} from './engine.js';
export { servingSignals, type ServingSignals } from './serving.js';
