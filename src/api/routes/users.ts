import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf, type PublicToken, type PublicUser } from '../../auth/service.js';
import { Roles } from '../../store/index.js';
import type { ApiDeps } from '../app.js';
import { applyListQuery, fieldIs, flagIs, listQuerySchema, sendPage, type ListQuery, type ListSpec } from '../listQuery.js';

const RoleSchema = Type.Union(Roles.map((role) => Type.Literal(role)));
const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });
const NewUser = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), role: RoleSchema, password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
const UserChange = Type.Object(
  { role: Type.Optional(RoleSchema), password: Type.Optional(Type.String({ maxLength: 1024 })), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const NewToken = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), role: RoleSchema }, { additionalProperties: false });

const userSpec: ListSpec<PublicUser> = { sortable: ['id', 'role', 'created', 'disabled'], filters: { role: fieldIs('role'), disabled: flagIs('disabled') }, text: (user) => [user.id] };
const tokenSpec: ListSpec<PublicToken> = {
  sortable: ['id', 'name', 'role', 'created', 'createdBy', 'revoked'],
  filters: { role: fieldIs('role'), createdBy: fieldIs('createdBy'), revoked: (token, value) => flagIs<{ revoked: boolean }>('revoked')({ revoked: token.revoked !== null }, value) },
  text: (token) => [token.id, token.name],
};

/** Users and API tokens: admins only. Every change is audited by the auth service. */
export function registerUserRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { auth } = deps;
  const admin = { auth: 'admin' } as const;

  app.get<{ Querystring: ListQuery }>('/api/v1/users', { config: admin, schema: { querystring: listQuerySchema(userSpec, 'users') } }, async (request, reply) => {
    const { page, total } = applyListQuery(auth.listUsers(), request.query, userSpec);
    return sendPage(reply, request.url, request.query, page, total);
  });
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

  app.get<{ Querystring: ListQuery }>('/api/v1/tokens', { config: admin, schema: { querystring: listQuerySchema(tokenSpec, 'API tokens') } }, async (request, reply) => {
    const { page, total } = applyListQuery(auth.listTokens(), request.query, tokenSpec);
    return sendPage(reply, request.url, request.query, page, total);
  });
  app.post<{ Body: Static<typeof NewToken> }>('/api/v1/tokens', { config: admin, schema: { body: NewToken } }, async (request, reply) =>
    reply.status(201).send(await auth.createToken(request.body, actorOf(request.principal!, request.ip))),
  );
  app.delete<{ Params: Static<typeof Params> }>('/api/v1/tokens/:id', { config: admin, schema: { params: Params } }, async (request) =>
    auth.revokeToken(request.params.id, actorOf(request.principal!, request.ip)),
  );
}
