import type { FastifyInstance } from 'fastify';
import { GuardpostError } from '../errors.js';

/** Listens on a Unix socket (the API behind the HTTP front), readable and writable by this user only. */
export async function listenOnSocket(app: FastifyInstance, socketPath: string): Promise<void> {
  try {
    await app.listen({ path: socketPath });
  } catch (error) {
    throw new GuardpostError('GP_ERR_TRANSPORT', `cannot listen for HTTP on ${socketPath}: ${(error as Error).message}`);
  }
}
