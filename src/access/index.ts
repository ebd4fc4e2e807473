export * from './types.js';
export { decide } from './decide.js';
export { canonicalCardNumber, cardNumberFrom, maskCardNumber, type CardFormat } from './credentials.js';
export { CardIndex, credentialKey, type CardholderEntry } from './cardIndex.js';
export { buildAccessState, digestHex } from './build.js';
export { applyEffects, emptyRuleState, forgivePassback, type RuleState } from './ruleState.js';
export { compileSchedule, scheduleOpen, scheduleOpenAt } from './schedule.js';
export { localTimeAt, type LocalTime } from './localTime.js';
export { BUILT_IN_WIEGAND_FORMATS, decodeWiegand, encodeWiegand, wiegandKey, type WiegandFormat } from './wiegand.js';
