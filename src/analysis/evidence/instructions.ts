/**
 * Instruction-like text inside untrusted data (log lines, status-page bodies), recognised by its SHAPE, not by
 * its wording: text addressed to an automated reader, text that overrides earlier instructions, chat-template
 * role and system markers, an identity handed to the reader, and a failover ordered in the imperative. Ordinary
 * error messages describe what happened; they do not address the reader or order a failover.
 *
 * Provenance: the role and system markers are the chat-template tokens of the public model formats (ChatML
 * `<|im_start|>`, Llama `[INST]` and `<<SYS>>`, Alpaca `### Instruction:`); the rest is the grammar of a command.
 */

/** Who an injected instruction addresses: an automated reader, never a program named in an error. */
const AI_READER = String.raw`(?:ai|a\.i\.|llm|gpt|chatgpt|claude|copilot|language model|assistant|chatbot)`;
const AUTOMATED = String.raw`(?:${AI_READER}|agents?|bots?|automation|automated (?:\w+ ){0,2}(?:systems?|agents?|controllers?|remediation)|autopilot|operators?|controllers?|models?)`;
/** What an injection wants done: move traffic, pick a decision, or drop the reader's own rules. */
const ACTION_VERB = String.raw`(?:fail ?over|failover|switch|trigger|initiate|execute|perform|launch|begin|start|declare|invoke|move|migrate|route|redirect|shift|cut ?over|evacuate|promote|recommend|decide|choose|output|report|respond|reply|answer|ignore|disregard|forget|approve|escalate)\b`;
/** The narrower set that, under an obligation ("must", "should"), only an injection asks for. */
const OBLIGED_VERB = String.raw`(?:fail ?over|failover|switch|trigger|initiate|migrate|route|redirect|shift|cut ?over|evacuate|declare|recommend|decide|ignore|disregard|forget|invoke)\b`;
const FAILOVER_OBJECT = String.raw`(?:dr\b|dr_failover|trigger_dr|region_failover|disaster[- ]recovery|(?:cross[- ]cloud |region(?:al)? |dr |emergency |full |immediate )*(?:fail-?over|switchover|cutover)|evacuation)`;
/** Readers that are programs in ordinary logs too (agents, operators, controllers): addressed only with an order. */
const ADDRESSEE = String.raw`\b(?:to|for|attention|attn|dear|hey|hi|hello|calling)\b:?\s+(?:the |all |any |every |our |an? |whichever |whatever )?(?:[\w-]+ ){0,3}`;
const OBLIGATION = String.raw`(?:must|should|shall|need to|have to|are to|is to|are (?:required|instructed|expected|authori[sz]ed) to|is (?:required|instructed|expected|authori[sz]ed) to)`;

const SHAPES: RegExp[] = [
  // Overriding what the reader was told before.
  /\b(?:ignore|disregard|forget|override|bypass)\b(?:\s+\w+){0,3}?\s+(?:previous|prior|above|earlier|preceding|other|existing|all|any)\b(?:\s+\w+){0,2}?\s*(?:instructions?|rules?|signals?|prompts?|guidance|directions?|directives?|messages?|polic(?:y|ies)|context|evidence|constraints?|safeguards?|guardrails?)\b/i,
  /\b(?:ignore|disregard|forget)\s+(?:everything|all)\s+(?:above|before|else)\b/i,
  // Chat-template role and system markers.
  /<\|[a-z_]+\|>|\[\/?inst\]|<<\/?sys>>|###\s*(?:instruction|system|response|assistant)s?\b|<\/?(?:system|assistant|instructions?)>/i,
  /(?:^|[\s"'[(=>])(?:system|assistant|developer)\s*:\s/i,
  /\b(?:system|assistant|developer)\s+(?:override|prompt|instructions?|notice for)\b|\[\[[^\]]*(?:override|instruction|directive)[^\]]*\]\]/i,
  // Addressed to an automated reader: "Dear LLM", "for any AI reading this", "Copilot: …", "bot, …".
  new RegExp(String.raw`${ADDRESSEE}${AI_READER}s?\b`, 'i'),
  new RegExp(
    String.raw`(?:^|[\s"'[(>])(?:${AI_READER}|bots?|automation)\s*[,:!]\s*(?:please |kindly |now |you )?(?:${ACTION_VERB}|you\b|must\b)`,
    'i',
  ),
  new RegExp(String.raw`${ADDRESSEE}${AUTOMATED}\b[^.]*?\b${OBLIGED_VERB}`, 'i'),
  // An obligation placed on the reader or on an automated actor, to do what an injection wants.
  new RegExp(
    String.raw`\b(?:you|${AUTOMATED})\s+${OBLIGATION}\s+(?:now |immediately |just |also )?${OBLIGED_VERB}`,
    'i',
  ),
  // A new identity or task for the reader.
  /\byou are now\b|\bfrom now on,? you\b|\bact as (?:an?|the) \w|\bpretend (?:to be|you are)\b|\byour (?:new )?(?:instructions?|task|role|orders?|directive)\s*(?:is|are|:)/i,
  // A failover ordered in the imperative, at the start of a clause or after an obligation.
  new RegExp(
    String.raw`(?:^|[.!:;,"'\]>]\s*|\b(?:please|kindly|now|just|then|and|immediately|must|should|shall)\s+)(?:trigger|initiate|execute|perform|launch|begin|start|declare|invoke|kick off|run|order|approve)\s+(?:an?\s+|the\s+)?${FAILOVER_OBJECT}`,
    'i',
  ),
  /(?:^|[.!:;,"'\]>]\s*|\b(?:please|kindly|now|just|then|and)\s+)(?:fail over|switch|move|migrate|route|redirect|shift|send|cut over|evacuate)\s+(?:all\s+|the\s+|our\s+|every\s+)*(?:traffic|users|requests|production|prod|workloads?|services|everything|customers|the site|the region)?\s*(?:over\s+)?to\s+(?:azure|the (?:dr|standby|secondary|backup|other)|dr\b|another)/i,
  /\bfail ?over (?:now|immediately|at once|right away|without delay)\b/i,
  new RegExp(
    String.raw`\b(?:recommend|decide|choose|output|report|respond with|reply with|answer with)\s+(?:an?\s+|the\s+|only\s+)?(?:immediate\s+)?(?:dr_failover|trigger_dr|region_failover|confidence\s*[=:]?\s*high|${FAILOVER_OBJECT})`,
    'i',
  ),
  // A claim of authority for a failover.
  /\b(?:this|it) (?:is|was|has been) (?:pre-?)?(?:authori[sz]ed|approved|sanctioned)\b|\bauthori[sz]ed: /i,
];

/** Whether a piece of untrusted text reads like an instruction to whoever (or whatever) reads it. */
export function isInstructionLike(text: string): boolean {
  return SHAPES.some((shape) => shape.test(text));
}
