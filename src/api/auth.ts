import type { FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../core/secrets.ts';
import type { ApiTokenRepository } from '../store/api-tokens.ts';

export interface Principal {
  role: 'admin';
  via: 'admin_token' | 'api_token';
  label: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * Bearer-token authentication: `CAREBELL_ADMIN_TOKEN` when set, or a token
 * issued by the gateway (stored hashed). Missing or unknown → 401.
 */
export function bearerAuth(opts: { adminToken: string | undefined; tokens: ApiTokenRepository }) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer realm="carebell"')
        .send({ error: { code: 'unauthorized', message: 'send Authorization: Bearer <token>' } });
    }
    const token = match[1]!;
    if (opts.adminToken && constantTimeEqual(token, opts.adminToken)) {
      request.principal = { role: 'admin', via: 'admin_token', label: 'admin' };
      return;
    }
    const stored = opts.tokens.find(token);
    if (stored && stored.role === 'admin') {
      request.principal = { role: 'admin', via: 'api_token', label: stored.label };
      return;
    }
    return reply.status(401).header('www-authenticate', 'Bearer realm="carebell"').send({ error: { code: 'unauthorized', message: 'unknown or revoked token' } });
  };
}
