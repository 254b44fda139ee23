export { DecisionEngine, type CycleInput, type CycleResult } from './engine.js';
