/**
 * Errors a user can cause carry a stable machine-readable code, an HTTP status
 * and a message that says what to fix. The API renders them as
 * `{error: {code, message}}`.
 */
export type ErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'payload_too_large'
  | 'too_many_requests'
  | 'unavailable'
  | 'internal';

const statusByCode: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
};

export class CarebellError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  /** Which check failed, for a client to say in its own words (see api/errors.ts). */
  readonly rule: string | undefined;
  constructor(code: ErrorCode, message: string, options: { field?: string; rule?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CarebellError';
    this.code = code;
    this.status = statusByCode[code];
    this.field = options.field;
    this.rule = options.rule;
  }
}

export const notFound = (what: string, id: string | number): CarebellError =>
  new CarebellError('not_found', `${what} ${JSON.stringify(id)} does not exist`);

export const invalid = (field: string, message: string, rule?: string): CarebellError =>
  new CarebellError('validation_failed', `${field}: ${message}`, { field, ...(rule ? { rule } : {}) });

export const conflict = (message: string): CarebellError => new CarebellError('conflict', message);

export const forbidden = (message: string): CarebellError => new CarebellError('forbidden', message);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
