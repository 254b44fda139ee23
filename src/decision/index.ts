export { DecisionEngine, type CycleInput, type CycleResult, type DecisionState } from './engine.js';
