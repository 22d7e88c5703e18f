import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.ts';
import { constantTimeEqual } from '../core/secrets.ts';
import type { ApiTokenRepository } from '../store/api-tokens.ts';
import type { User, UserRepository } from '../store/users.ts';
import { forbidden } from '../core/errors.ts';
import { Access, VISITOR_ROUTES, type AccessDeps, type Principal } from './access.ts';

export const principalOf = (user: User): Principal => ({
  role: user.role,
  via: 'login',
  label: user.username,
  userId: user.id,
  stationId: user.stationId,
  providerId: user.providerId,
  residentId: user.residentId,
});

const automation = (via: Principal['via'], label: string): Principal => ({ role: 'admin', via, label, userId: null, stationId: null, providerId: null, residentId: null });

/**
 * Bearer-token authentication: `CAREBELL_ADMIN_TOKEN` when set, a token for
 * automation issued by the gateway, or a login's token (expiring, revocable;
 * a disabled account's tokens stop at once). Missing, unknown, expired → 401.
 * Routes marked `config.public` (login) need none.
 */
export function bearerAuth(opts: { adminToken: string | undefined; tokens: ApiTokenRepository; users: UserRepository; clock: Clock; access: AccessDeps }) {
  const unauthorized = (reply: FastifyReply, message: string) =>
    reply.status(401).header('www-authenticate', 'Bearer realm="carebell"').send({ error: { code: 'unauthorized', message } });

  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.routeOptions.config?.public) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) return unauthorized(reply, 'send Authorization: Bearer <token>');
    const token = match[1]!;
    let principal: Principal | undefined;
    let expiresAt: number | null = null;
    if (opts.adminToken && constantTimeEqual(token, opts.adminToken)) principal = automation('admin_token', 'admin');
    else {
      const stored = await opts.tokens.find(token, opts.clock.now());
      expiresAt = stored?.expiresAt ?? null;
      if (stored?.userId) {
        const user = await opts.users.get(stored.userId);
        if (user && user.disabledAt === null) principal = principalOf(user);
      } else if (stored?.role === 'admin') principal = automation('api_token', stored.label);
    }
    if (!principal) return unauthorized(reply, 'unknown, expired or revoked token; log in again');
    request.principal = principal;
    request.bearerToken = token;
    request.tokenExpiresAt = expiresAt;
    request.access = new Access(principal, opts.access);
    if (principal.role === 'visitor' && !VISITOR_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) {
      throw forbidden(`a visitor account records visits only; it may not ${request.method} ${request.routeOptions.url}`);
    }
  };
}
