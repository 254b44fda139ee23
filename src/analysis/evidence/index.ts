export { EvidenceAnalyzer, analyzeEvidence } from './analyzer.js';
export { classifyText, type TextFamily } from './text.js';
export { isInstructionLike } from './instructions.js';
export { zoneSpread, spreadFromZones, type ZoneSpread } from './zones.js';
export { assessImpact, vantageQuorumDown } from './impact.js';
