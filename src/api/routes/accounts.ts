import { z } from 'zod';
import { CarebellError, notFound } from '../../core/errors.ts';
import { roles as roleList } from '../../store/users.ts';
import { roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam, webhookUrl } from '../schemas.ts';
import { providerView, userView } from '../views.ts';

const password = z.string().min(10, 'must be at least 10 characters').max(200);
const username = z
  .string()
  .trim()
  .min(3)
  .max(64)
  .regex(/^[\p{L}\p{N}._@-]+$/u, 'letters, digits, and . _ @ - only');

const createUser = z
  .object({
    username,
    password,
    role: z.enum(roleList),
    displayName: z.string().trim().min(1).max(100).nullish(),
    stationId: z.string().nullish(),
    providerId: z.string().nullish(),
    residentId: z.string().nullish(),
    relation: z.string().trim().min(1).max(40).nullish().describe('a family account: who the person is to the resident, e.g. son'),
  })
  .strict();

/** What these routes use. */
export type AccountRoutesDeps = Pick<ApiContext, 'accounts' | 'providers' | 'users'>;

/** Login, logout, the caller's own account; users and providers (admin). */
export function accountRoutes(app: Api, ctx: AccountRoutesDeps): void {
  app.post(
    '/auth/login',
    { config: { public: true }, schema: { security: [], body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) }).strict(), summary: 'Log in: username and password → a bearer token (expires; 429 after repeated failures)', tags: ['auth'] } },
    async (req, reply) => {
      try {
        const { token, expiresAt, user } = await ctx.accounts.login(req.body.username, req.body.password, req.ip);
        return { token, expiresAt: new Date(expiresAt).toISOString(), user: userView(user) };
      } catch (err) {
        if (err instanceof CarebellError && err.code === 'too_many_requests') reply.header('retry-after', String((err as CarebellError & { retryAfter: number }).retryAfter));
        throw err;
      }
    },
  );

  app.post('/auth/logout', { schema: { summary: 'Log out: revoke the token of this request', tags: ['auth'] } }, async (req, reply) => {
    await ctx.accounts.logout(req.bearerToken!);
    return reply.status(204).send();
  });

  app.get('/auth/me', { schema: { summary: 'The caller: account, role and scope', tags: ['auth'] } }, async (req) => {
    const p = req.principal!;
    const user = p.userId ? await ctx.users.get(p.userId) : undefined;
    return user ? userView(user) : { id: null, username: p.label, role: p.role, displayName: null, stationId: null, providerId: null, residentId: null, relation: null, createdAt: null, disabled: false };
  });

  app.put('/auth/password', { schema: { body: z.object({ password }).strict(), summary: 'Change the caller\'s password (its other logins end)', tags: ['auth'] } }, async (req, reply) => {
    const userId = req.principal!.userId;
    if (!userId) throw new CarebellError('validation_failed', 'a token for automation has no password', { field: 'password' });
    await ctx.accounts.changePassword(userId, req.body.password);
    return reply.status(204).send();
  });

  app.post('/users', { onRequest: roles('admin'), schema: { body: createUser, summary: 'Create an account: admin, operator (stationId), provider (providerId) or family (residentId)', tags: ['users'] } }, async (req, reply) =>
    reply.status(201).send(userView(await ctx.accounts.createUser(req.body))),
  );

  app.get('/users', { onRequest: roles('admin'), schema: { summary: 'List accounts', tags: ['users'] } }, async () => (await ctx.users.list()).map(userView));

  app.get('/users/:id', { onRequest: roles('admin'), schema: { params: idParam, summary: 'One account', tags: ['users'] } }, async (req) => {
    const user = await ctx.users.get(req.params.id);
    if (!user) throw notFound('user', req.params.id);
    return userView(user);
  });

  app.patch('/users/:id', { onRequest: roles('admin'), schema: { params: idParam, body: z.object({ displayName: z.string().trim().min(1).max(100) }).strict(), summary: 'Change an account\'s display name', tags: ['users'] } }, async (req) =>
    userView(await ctx.accounts.rename(req.params.id, req.body.displayName)),
  );

  app.post('/users/:id/enable', { onRequest: roles('admin'), schema: { params: idParam, summary: 'Enable a disabled account (it logs in again with its password)', tags: ['users'] } }, async (req) => userView(await ctx.accounts.enable(req.params.id)));

  app.post('/users/:id/password', { onRequest: roles('admin'), schema: { params: idParam, summary: 'Give an account a new random password, returned only now; its logins end', tags: ['users'] } }, async (req) => {
    const user = await ctx.users.get(req.params.id);
    if (!user) throw notFound('user', req.params.id);
    return { username: user.username, password: await ctx.accounts.resetPassword(user.username) };
  });

  app.post('/users/:id/disable', { onRequest: roles('admin'), schema: { params: idParam, summary: 'Disable an account and revoke its tokens', tags: ['users'] } }, async (req) => userView(await ctx.accounts.disable(req.params.id)));

  app.post(
    '/providers',
    {
      onRequest: roles('admin'),
      schema: {
        body: z.object({ name: z.string().trim().min(1).max(200), webhookUrl: webhookUrl.describe('where its notifications go: a device fault not fixed in 2 h, buttons overdue for their test') }).strict(),
        summary: 'Register a home-bed provider company',
        tags: ['providers'],
      },
    },
    async (req, reply) => reply.status(201).send(providerView(await ctx.accounts.createProvider(req.body.name, req.body.webhookUrl ?? null))),
  );

  app.patch(
    '/providers/:id',
    { onRequest: roles('admin'), schema: { params: idParam, body: z.object({ webhookUrl: webhookUrl.refine((v) => v !== undefined, 'required: a URL, or null to clear') }).strict(), summary: "Set or clear where a provider's notifications go", tags: ['providers'] } },
    async (req) => {
      if (!ctx.providers.get(req.params.id)) throw notFound('provider', req.params.id);
      await ctx.providers.setWebhookUrl(req.params.id, req.body.webhookUrl ?? null);
      return providerView(ctx.providers.get(req.params.id)!);
    },
  );

  app.get('/providers', { onRequest: roles('admin', 'operator', 'provider'), schema: { summary: 'List providers (a provider sees itself)', tags: ['providers'] } }, async (req) =>
    ctx.providers
      .list()
      .filter((p) => req.principal!.role !== 'provider' || p.id === req.principal!.providerId)
      .map(providerView),
  );
}
