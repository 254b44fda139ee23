export { EvidenceAnalyzer, analyzeEvidence } from './analyzer.js';
export { classifyText, zoneSpread, type TextFamily } from './text.js';
