import type { FastifyInstance } from 'fastify';
import { GuardpostError } from '../errors.js';

/** Listens with an app built by buildApp(); resolves with the port actually bound (0 = ephemeral). */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    throw new GuardpostError('GP_ERR_TRANSPORT', `cannot listen for HTTP on ${host}:${port}: ${(error as Error).message}`);
  }
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}
