/**
 * The catalogue of guardpost's error codes. Every error a user can meet carries one of these
 * codes; docs/errors.md documents each and tests/unit/errors.test.ts keeps the two in step.
 */
export const ErrorCodes = {
  GP_ERR_CONFIG_READ: 'GP_ERR_CONFIG_READ',
  GP_ERR_CONFIG_INVALID: 'GP_ERR_CONFIG_INVALID',
  GP_ERR_SITE_INVALID: 'GP_ERR_SITE_INVALID',
  GP_ERR_BAD_INPUT: 'GP_ERR_BAD_INPUT',
  GP_ERR_BAD_REQUEST: 'GP_ERR_BAD_REQUEST',
  GP_ERR_NOT_FOUND: 'GP_ERR_NOT_FOUND',
  GP_ERR_UNAUTHORIZED: 'GP_ERR_UNAUTHORIZED',
  GP_ERR_FORBIDDEN: 'GP_ERR_FORBIDDEN',
  GP_ERR_NOT_READY: 'GP_ERR_NOT_READY',
  GP_ERR_CONFLICT: 'GP_ERR_CONFLICT',
  GP_ERR_STORE: 'GP_ERR_STORE',
  GP_ERR_TRANSPORT: 'GP_ERR_TRANSPORT',
  GP_ERR_USAGE: 'GP_ERR_USAGE',
  GP_ERR_TIMEOUT: 'GP_ERR_TIMEOUT',
  GP_ERR_INTERNAL: 'GP_ERR_INTERNAL',
  GP_ERR_NO_ADMIN: 'GP_ERR_NO_ADMIN',
  GP_ERR_TOO_MANY_ATTEMPTS: 'GP_ERR_TOO_MANY_ATTEMPTS',
  GP_ERR_RATE_LIMITED: 'GP_ERR_RATE_LIMITED',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** An error as a typed value: a code from the catalogue, a message for people, optional details. */
export class GuardpostError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, details: readonly string[] = []) {
    super(message);
    this.name = 'GuardpostError';
    this.code = code;
    this.details = details;
  }
}

export function isGuardpostError(error: unknown): error is GuardpostError {
  return error instanceof GuardpostError;
}
