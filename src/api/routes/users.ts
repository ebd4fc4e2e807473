import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../auth/service.js';
import { Roles } from '../../store/index.js';
import type { ApiDeps } from '../app.js';

const RoleSchema = Type.Union(Roles.map((role) => Type.Literal(role)));
const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });
const NewUser = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), role: RoleSchema, password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
const UserChange = Type.Object(
  { role: Type.Optional(RoleSchema), password: Type.Optional(Type.String({ maxLength: 1024 })), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const NewToken = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), role: RoleSchema }, { additionalProperties: false });

/** Users and API tokens: admins only. Every change is audited by the auth service. */
export function registerUserRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { auth } = deps;
  const admin = { auth: 'admin' } as const;

  app.get('/api/v1/users', { config: admin }, async () => auth.listUsers());
  app.get<{ Params: Static<typeof Params> }>('/api/v1/users/:id', { config: admin, schema: { params: Params } }, async (request) => auth.getUser(request.params.id));
  app.post<{ Body: Static<typeof NewUser> }>('/api/v1/users', { config: admin, schema: { body: NewUser } }, async (request, reply) =>
    reply.status(201).send(await auth.addUser(request.body, actorOf(request.principal!, request.ip))),
  );
  app.patch<{ Params: Static<typeof Params>; Body: Static<typeof UserChange> }>('/api/v1/users/:id', { config: admin, schema: { params: Params, body: UserChange } }, async (request) =>
    auth.updateUser(request.params.id, request.body, actorOf(request.principal!, request.ip)),
  );
  app.delete<{ Params: Static<typeof Params> }>('/api/v1/users/:id', { config: admin, schema: { params: Params } }, async (request, reply) => {
    auth.deleteUser(request.params.id, actorOf(request.principal!, request.ip));
    return reply.status(204).send();
  });

  app.get('/api/v1/tokens', { config: admin }, async () => auth.listTokens());
  app.post<{ Body: Static<typeof NewToken> }>('/api/v1/tokens', { config: admin, schema: { body: NewToken } }, async (request, reply) =>
    reply.status(201).send(await auth.createToken(request.body, actorOf(request.principal!, request.ip))),
  );
  app.delete<{ Params: Static<typeof Params> }>('/api/v1/tokens/:id', { config: admin, schema: { params: Params } }, async (request) =>
    auth.revokeToken(request.params.id, actorOf(request.principal!, request.ip)),
  );
}
