export { scoreSnapshot } from './score.js';
export {
  defaultScoringConfig,
  completeWeights,
  levelFor,
  DEFAULT_SIGNAL_RANGES,
  WEIGHT_STATUSES,
  type ScoringConfig,
  type SignalWeights,
  type LevelThresholds,
} from './weights.js';
