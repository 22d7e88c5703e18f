import { ApiError } from './api.ts';
import { dictionaries, type Key } from './i18n.ts';
import { store, t } from './state.ts';

/** A key of the dictionary if it exists (codes come from the server and may be newer than this console). */
export function known(key: string): Key | null {
  return key in dictionaries[store.state.lang] ? (key as Key) : null;
}

/** What the server said by code (`prefix.code`), in the user's language; its own words when this console does not know the code. */
export function sayCode(prefix: string, code: string | undefined, vars: Record<string, string | number>, fallback: string): string {
  const key = code === undefined ? null : known(`${prefix}.${code}`);
  return key ? t(key, vars) : fallback;
}

/**
 * A field as the user knows it: `contacts.1.phone` → "联系人 2 · 电话",
 * `careRecord.access.keySafe` → "钥匙盒"; an unknown name is shown as it is.
 */
export function fieldLabel(field: string): string {
  const parts = field.split('.');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const index = parts[i + 1] !== undefined && /^\d+$/.test(parts[i + 1]!) ? Number(parts[i + 1]) : null;
    const key = known(`field.${part}`);
    const label = key ? t(key) : part;
    if (index !== null) {
      out.push(`${label} ${index + 1}`);
      i++;
    } else if (!(part === 'careRecord' || part === 'access') || i === parts.length - 1) out.push(label);
  }
  return out.join(' · ');
}

/** What went wrong with a request, in the user's language where the server said which check failed. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return String((err as Error)?.message ?? err);
  const body = (err.body as { error?: { field?: string; rule?: string; limit?: number } } | null)?.error;
  if (err.status === 503) return t('error.unavailable');
  if (err.status === 403) return t('error.forbidden');
  if (err.code === 'validation_failed' && body?.field) {
    const rule = body.rule ? known(`rule.${body.rule}`) : null;
    return rule ? t('error.field', { field: fieldLabel(body.field), problem: t(rule, { limit: body.limit ?? '' }) }) : t('error.field', { field: fieldLabel(body.field), problem: err.message.replace(/^[\w.]+: /, '') });
  }
  return err.message;
}

/** An import's problem on a line, in the user's language (the server's English reason when the code is unknown). */
export function describeProblem(p: { reason: string; code?: string; vars?: Record<string, string | number> }): string {
  const vars = { ...p.vars };
  if (typeof vars.level === 'string') vars.level = t(known(`stations.level.${vars.level}`) ?? 'stations.level.community');
  if (typeof vars.more === 'number') vars.more = vars.more > 0 ? t('problem.more', { n: vars.more }) : '';
  return sayCode('problem', p.code, vars, p.reason);
}

/** A column of the import file as the user knows it. */
export function columnLabel(column: string): string {
  const key = known(`column.${column}`);
  return key ? `${t(key)} (${column})` : column;
}
