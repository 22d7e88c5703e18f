import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { CarebellError } from '../core/errors.ts';
import { isStorageUnavailable, StorageUnavailableError } from '../store/storage-errors.ts';

/**
 * What a failed check was, for a client to say in its user's language:
 * `rule` is required, too_small, too_big, phone, unknown_field, invalid_value,
 * invalid_format, invalid_type…, and `limit` the bound of a too_small or too_big.
 */
function ruleOf(issue: { keyword: string; message?: string; params?: Record<string, unknown> }): { rule: string; limit?: number } {
  const p = (issue.params ?? {}) as { minimum?: number | bigint; maximum?: number | bigint; params?: { rule?: string } };
  const rule = p.params?.rule ?? (issue.keyword === 'invalid_type' && /received undefined/.test(issue.message ?? '') ? 'required' : issue.keyword === 'unrecognized_keys' ? 'unknown_field' : issue.keyword);
  const limit = p.minimum ?? p.maximum;
  return { rule, ...(limit !== undefined ? { limit: Number(limit) } : {}) };
}

/**
 * One error shape for every failure: `{error: {code, message, field?, rule?, limit?}}`.
 * A 400 names the invalid field; a 500 never shows a stack or internals.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | CarebellError | Error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const first = error.validation[0]!;
      const where = error.validationContext ?? 'body';
      const path = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
      const unknownKey = /Unrecognized keys?: "([^"]+)"/.exec(first.message ?? '')?.[1];
      const field = [path, unknownKey].filter(Boolean).join('.');
      const message = `${where}${field ? '.' + field : ''}: ${first.message}`;
      return reply.status(400).send({ error: { code: 'validation_failed', message, field: field || where, ...ruleOf(first) } });
    }
    if (error instanceof CarebellError) {
      if (error.status >= 500) request.log.error({ err: error }, error.message);
      return reply.status(error.status).send({ error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}), ...(error.rule ? { rule: error.rule } : {}) } });
    }
    if (isStorageUnavailable(error) || error instanceof StorageUnavailableError) {
      request.log.error({ err: error }, 'request failed: the data directory cannot be written');
      return reply.status(503).send({ error: { code: 'unavailable', message: 'the gateway cannot write its data directory just now (disk full?); nothing was changed, try again shortly' } });
    }
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : status === 401 ? 'unauthorized' : 'validation_failed';
      return reply.status(status).send({ error: { code, message: error.message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; the gateway log has the details' } });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
}
