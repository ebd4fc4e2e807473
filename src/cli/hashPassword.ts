import { hashSecret } from '../auth/passwords.js';
import { GuardpostError } from '../errors.js';
import type { CliIo } from './run.js';
import { readSecret } from './secretInput.js';

/** Device passwords are typed into firmware, so shorter than people's, but never trivial. */
const MIN_DEVICE_PASSWORD_LENGTH = 8;

/** Reads one password from a prompt or stdin (never argv, which other users can see) and prints its argon2id hash. */
export async function hashPasswordCommand(io: CliIo, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const password = await readSecret('Password: ', stdin);
  if (password.length < MIN_DEVICE_PASSWORD_LENGTH) {
    throw new GuardpostError('GP_ERR_USAGE', `hash-password: the password must be at least ${MIN_DEVICE_PASSWORD_LENGTH} characters`);
  }
  io.out(await hashSecret(password));
  return 0;
}
