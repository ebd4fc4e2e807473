import { Type } from '@sinclair/typebox';
import { Id, Strict, Text } from './common.js';
import { isPlainObject, type Problem } from './validate.js';

/**
 * Home Assistant MQTT discovery (issue 10), off by default. Home Assistant logs in to the
 * embedded broker as one of `mqtt.operators`; its door and alarm-panel commands are made in
 * that operator's name and journalled like any other bridge request.
 */
export const HomeAssistantSchema = Strict(
  {
    enabled: Type.Boolean({ default: false }),
    /** Home Assistant's discovery prefix (its MQTT integration setting). */
    discoveryPrefix: Text({ default: 'homeassistant' }),
    /** The mqtt.operators username Home Assistant logs in with. */
    operator: Type.Optional(Id()),
    /** The threat level the site panel's "arm away" sets; "disarm" sets normal. */
    armAwayLevel: Id({ default: 'lockdown' }),
  },
  { default: {} },
);

export function homeAssistantProblems(config: unknown): Problem[] {
  if (!isPlainObject(config) || !isPlainObject(config.homeAssistant) || config.homeAssistant.enabled !== true) return [];
  const operator = config.homeAssistant.operator;
  if (typeof operator !== 'string') return [{ path: 'homeAssistant.operator', message: 'required when homeAssistant.enabled is true: the mqtt.operators username Home Assistant logs in with' }];
  const mqtt = isPlainObject(config.mqtt) ? config.mqtt : {};
  const operators = Array.isArray(mqtt.operators) ? mqtt.operators : [];
  if (mqtt.mode !== 'external' && !operators.some((entry) => isPlainObject(entry) && entry.username === operator)) {
    return [{ path: 'homeAssistant.operator', message: `"${operator}" is not in mqtt.operators: add it there with a passwordHash (guardpost hash-password) for Home Assistant to log in` }];
  }
  return [];
}
