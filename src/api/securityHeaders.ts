import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';

/** Headers of the probe's answer that are not helmet's. */
const NOT_HELMETS = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);

/**
 * The security headers @fastify/helmet sets with its defaults, worked out once. Its global hook
 * rebuilds helmet's middleware (options parsed, CSP directives stringified) on every request,
 * a fixed cost the hot read routes paid thousands of times a second for the same dozen headers.
 * Asking helmet itself, on a throwaway instance, keeps the headers exactly helmet's.
 */
export async function helmetHeaders(): Promise<ReadonlyArray<readonly [string, string]>> {
  const probe = Fastify();
  try {
    await probe.register(helmet, { global: true });
    probe.get('/', async () => '');
    const answer = await probe.inject({ method: 'GET', url: '/' });
    return Object.entries(answer.headers)
      .filter(([name]) => !NOT_HELMETS.has(name))
      .map(([name, value]) => [name, String(value)] as const);
  } finally {
    await probe.close();
  }
}

/**
 * Sets helmet's headers on every answer (errors and 404s included), as the plugin did: on the raw
 * response, so a route's own `reply.header` (the console's CSP, swagger-ui's) still wins.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<ReadonlyArray<readonly [string, string]>> {
  const headers = await helmetHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    done();
  });
  return headers;
}
