export const Severities = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof Severities)[number];
