import argon2 from 'argon2';
import { GuardpostError } from '../errors.js';
import type { CliIo } from './run.js';

/** Reads one password from stdin (never from argv, which other users can see) and prints its argon2id hash. */
export async function hashPasswordCommand(io: CliIo, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let text = '';
  for await (const chunk of stdin) text += chunk.toString();
  const password = text.replace(/\r?\n$/, '');
  if (password.length < 8) throw new GuardpostError('GP_ERR_USAGE', 'hash-password: the password on stdin must be at least 8 characters');
  io.out(await argon2.hash(password, { type: argon2.argon2id }));
  return 0;
}
