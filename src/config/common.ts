import { Type, type ObjectOptions, type StringOptions, type IntegerOptions, type TObject, type TProperties } from '@sinclair/typebox';

/**
 * Schema building blocks shared by the gateway config and the site data.
 * `expected` is our own annotation: how validate.ts words a pattern failure for people.
 * `secret` keeps a value out of error messages.
 */

/** Objects reject unknown keys: a typo must be an error, not a setting silently ignored. */
export function Strict<T extends TProperties>(properties: T, options: ObjectOptions = {}): TObject<T> {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/** IDs appear in MQTT topics and URLs (DESIGN.md), hence the narrow alphabet. */
export function Id(options: StringOptions = {}) {
  return Type.String({
    pattern: '^[a-z0-9-]+$',
    maxLength: 64,
    expected: 'an id of lowercase letters, digits and dashes',
    ...options,
  });
}

/** 0 asks the OS for an ephemeral port (tests, parallel runs). */
export function Port(options: IntegerOptions = {}) {
  return Type.Integer({ minimum: 0, maximum: 65535, ...options });
}

export function Text(options: StringOptions = {}) {
  return Type.String({ minLength: 1, ...options });
}
