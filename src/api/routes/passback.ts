import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { audited } from '../audited.js';
import { apiActor } from './commandActor.js';
import type { ApiDeps } from '../app.js';

const ForgiveBody = Type.Object(
  { cardholder: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64, description: 'omit to forgive everyone' })) },
  { additionalProperties: false },
);

/** [ACC-PASSBACK] an admin or security officer forgives a missed badge, for one person or all. */
export function registerPassbackRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: Static<typeof ForgiveBody> }>('/api/v1/passback/forgive', { config: { auth: 'security' }, schema: { body: ForgiveBody } }, async (request) => {
    const actor = apiActor(request);
    const forgiven = audited(deps, request, 'passback.forgiven', request.body.cardholder ?? null, () => deps.runtime.forgivePassback(request.body.cardholder ?? null, actor.by ?? `anonymous@${actor.address ?? 'unknown'}`), (count) => ({ cardholder: request.body.cardholder ?? null, forgiven: count }));
    return { forgiven };
  });
}
