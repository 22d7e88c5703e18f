import { deviceIdPattern } from '../profiles/topics.ts';
import { newId } from '../core/ids.ts';
import { hashDeviceSecret, newSecret } from '../core/secrets.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { DeviceRepository } from '../store/devices.ts';
import type { Tx } from '../store/unit-of-work.ts';
import type { Station, StationRepository } from '../store/stations.ts';
import { parseCsv } from './csv.ts';
import type { DeviceCredentials, NewResident, Onboarding } from './onboarding.ts';
import { careCategories, isoDate, type CareCategory } from '../core/care-profile.ts';

/** The import file's columns: one row per resident, their devices in one cell. */
export const IMPORT_COLUMNS = [
  'name',
  'address',
  'station',
  'lives_alone',
  'capability_level',
  'contact_name',
  'contact_relation',
  'contact_phone',
  'contact2_name',
  'contact2_relation',
  'contact2_phone',
  'devices',
  'notes',
  'birth_date',
  'categories',
  'capability_assessed_at',
  'phone',
] as const;
type Column = (typeof IMPORT_COLUMNS)[number];
const REQUIRED: Column[] = ['name', 'address', 'station', 'lives_alone', 'capability_level', 'devices'];
export const MAX_IMPORT_ROWS = 5_000;

/**
 * A phone number someone can be called on: a mainland mobile (138 0000 0001),
 * a landline with its area code (010-6512 3456), either with +86 before it,
 * or another country's number after its + code. Spaces and dashes are kept
 * as written and ignored here. "12345" is not one.
 */
export function isPhoneNumber(text: string): boolean {
  if (!/^\+?[0-9][0-9 -]*[0-9]$/.test(text)) return false;
  const digits = text.replace(/[ -]/g, '');
  return /^(?:\+?86)?(?:1[3-9][0-9]{9}|0[1-9][0-9]{8,10})$/.test(digits) || /^\+(?!86)[1-9][0-9]{6,14}$/.test(digits);
}

export const PHONE_RULE = 'a phone number: a mobile (138 0000 0001), a landline with its area code (010-6512 3456), or + and a country code';

export interface ImportProblem {
  line: number;
  field: string;
  reason: string;
  /** What `reason` says, for a console to put in its user's language (`station.above` with `vars` {name, level, under}). */
  code: string;
  vars?: Record<string, string | number>;
}

export interface ImportReport {
  dryRun: boolean;
  /** True when every row is valid (and, unless a dry run, everything was written). */
  ok: boolean;
  rows: number;
  residents: number;
  devices: number;
  errors: ImportProblem[];
  /** After a real import: what was created, with each device's MQTT credentials (shown only here). */
  created?: Array<{ line: number; residentId: string; name: string; devices: DeviceCredentials[] }>;
}

export interface ImportDeps {
  onboarding: Onboarding;
  stations: StationRepository;
  devices: DeviceRepository;
  profiles: ProfileRegistry;
  /** One unit of work (store/unit-of-work.ts): every row or none. */
  transaction: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;
}

export interface ImportOptions {
  dryRun: boolean;
  /** The provider the residents and devices belong to (a provider's own; chosen by an admin). */
  providerId: string | null;
  /** Stations the caller may place residents in. */
  stationVisible: (stationId: string) => boolean;
}

interface PlannedRow {
  line: number;
  resident: NewResident;
  devices: Array<{ profile: string; id: string | undefined }>;
}

/** Care categories by their name in the API or in Chinese, as a spreadsheet may have them. */
const categoryByWord = new Map<string, CareCategory>([
  ...careCategories.map((c) => [c, c] as const),
  ['独居', 'lives_alone'],
  ['空巢', 'empty_nest'],
  ['留守', 'left_behind'],
  ['残疾', 'disabled'],
  ['失能', 'disabled'],
  ['重度残疾', 'severely_disabled'],
  ['重度失能', 'severely_disabled'],
  ['特困', 'special_family'],
  ['计划生育特殊家庭', 'special_family'],
  ['低保', 'low_income'],
  ['低收入', 'low_income'],
]);

const yes = new Set(['yes', 'y', 'true', '1', '是', '独居']);
const no = new Set(['no', 'n', 'false', '0', '否', '']);

/**
 * Bulk onboarding from CSV: residents, their contacts and devices. Every row
 * is checked and every problem reported with its line and field; a real
 * import writes nothing unless every row is valid, and then writes everything
 * in one transaction.
 */
export async function importResidents(deps: ImportDeps, csv: string, opts: ImportOptions): Promise<ImportReport> {
  const errors: ImportProblem[] = [];
  const report = (rows: number, planned: PlannedRow[]): ImportReport => ({
    dryRun: opts.dryRun,
    ok: errors.length === 0,
    rows,
    residents: planned.length,
    devices: planned.reduce((n, r) => n + r.devices.length, 0),
    errors,
  });

  let records;
  try {
    records = parseCsv(csv);
  } catch (err) {
    errors.push({ line: Number(/line (\d+)/.exec((err as Error).message)?.[1] ?? 1), field: 'file', reason: (err as Error).message, code: 'file.unclosed_quote' });
    return report(0, []);
  }
  const [header, ...rows] = records;
  if (!header) {
    errors.push({ line: 1, field: 'file', reason: `empty file; the first line names the columns: ${IMPORT_COLUMNS.join(',')}`, code: 'file.empty', vars: { columns: IMPORT_COLUMNS.join(',') } });
    return report(0, []);
  }
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  for (const c of columns) if (!(IMPORT_COLUMNS as readonly string[]).includes(c)) errors.push({ line: header.line, field: c || '(empty)', reason: `unknown column; known: ${IMPORT_COLUMNS.join(', ')}`, code: 'column.unknown', vars: { columns: IMPORT_COLUMNS.join(', ') } });
  for (const c of REQUIRED) if (!columns.includes(c)) errors.push({ line: header.line, field: c, reason: 'required column missing', code: 'column.missing' });
  if (rows.length === 0) errors.push({ line: header.line, field: 'file', reason: 'no rows after the header', code: 'file.no_rows' });
  if (rows.length > MAX_IMPORT_ROWS) errors.push({ line: header.line, field: 'file', reason: `at most ${MAX_IMPORT_ROWS} rows per file`, code: 'file.too_many_rows', vars: { max: MAX_IMPORT_ROWS } });
  if (errors.length > 0) return report(rows.length, []);

  const stations = deps.stations.list();
  const seenDevices = new Map<string, number>();
  const planned: PlannedRow[] = [];

  for (const row of rows) {
    const problem = (field: string, reason: string, code: string, vars?: ImportProblem['vars']) => errors.push({ line: row.line, field, reason, code, ...(vars ? { vars } : {}) });
    if (row.fields.length !== columns.length) {
      problem('row', `has ${row.fields.length} fields, the header ${columns.length}`, 'row.field_count', { fields: row.fields.length, columns: columns.length });
      continue;
    }
    const get = (c: Column): string => {
      const at = columns.indexOf(c);
      return at === -1 ? '' : row.fields[at]!.trim();
    };
    for (const c of REQUIRED) if (c !== 'lives_alone' && get(c) === '') problem(c, 'required', 'required');

    const station = resolveStation(get('station'), stations, opts.stationVisible);
    if (get('station') !== '') {
      if (!('id' in station)) problem('station', station.reason, station.code, station.vars);
      else if (!opts.stationVisible(station.id)) problem('station', `no community station ${get('station')}`, 'station.unknown', { name: get('station') });
    }
    const livesAlone = get('lives_alone').toLowerCase();
    if (!yes.has(livesAlone) && !no.has(livesAlone)) problem('lives_alone', 'yes or no', 'yes_no');
    const level = Number(get('capability_level'));
    if (get('capability_level') !== '' && !(Number.isInteger(level) && level >= 0 && level <= 4)) problem('capability_level', 'a whole number 0 to 4', 'capability');

    const birthDate = get('birth_date');
    if (birthDate !== '' && !isoDate.safeParse(birthDate).success) problem('birth_date', `not a date as YYYY-MM-DD: ${JSON.stringify(birthDate)}`, 'date', { value: birthDate });
    const assessedAt = get('capability_assessed_at');
    if (assessedAt !== '' && !isoDate.safeParse(assessedAt).success) problem('capability_assessed_at', `not a date as YYYY-MM-DD: ${JSON.stringify(assessedAt)}`, 'date', { value: assessedAt });
    const categories: CareCategory[] = [];
    for (const word of get('categories').split(/[;,，、|\s]+/).map((w) => w.trim()).filter(Boolean)) {
      const category = categoryByWord.get(word.toLowerCase());
      if (category) categories.push(category);
      else problem('categories', `unknown category ${word}; known: ${careCategories.join(', ')} (or 独居, 空巢, 留守, 残疾, 重度残疾, 特困, 低保)`, 'category', { value: word });
    }

    const ownPhone = get('phone');
    if (ownPhone !== '' && !isPhoneNumber(ownPhone)) problem('phone', `not ${PHONE_RULE}: ${JSON.stringify(ownPhone)}`, 'phone', { value: ownPhone });
    const contacts: NewResident['contacts'] = [];
    for (const [prefix, priority] of [['contact', 1], ['contact2', 2]] as const) {
      const name = get(`${prefix}_name`);
      const relation = get(`${prefix}_relation`);
      const phone = get(`${prefix}_phone`);
      if (!name && !relation && !phone) continue;
      if (!name) problem(`${prefix}_name`, 'required when the contact has a phone or relation', 'contact.name');
      if (!relation) problem(`${prefix}_relation`, 'required when the contact has a name or phone', 'contact.relation');
      if (!isPhoneNumber(phone)) problem(`${prefix}_phone`, `not ${PHONE_RULE}: ${JSON.stringify(phone)}`, 'phone', { value: phone });
      contacts.push({ name, relation, phone, priority });
    }

    const devices: PlannedRow['devices'] = [];
    for (const entry of get('devices').split(/[;\n]/).map((e) => e.trim()).filter(Boolean)) {
      const [profile, id] = entry.split('=').map((s) => s.trim()) as [string, string | undefined];
      if (!deps.profiles.get(profile)) {
        problem('devices', `unknown profile ${profile}`, 'device.profile', { profile });
        continue;
      }
      if (id !== undefined) {
        if (!deviceIdPattern.test(id)) problem('devices', `device id ${id}: 1-64 letters, digits, _ . : or -`, 'device.id_format', { id });
        else if (seenDevices.has(id)) problem('devices', `device id ${id} appears twice (first on line ${seenDevices.get(id)})`, 'device.id_twice', { id, line: seenDevices.get(id)! });
        else if (await deps.devices.get(id)) problem('devices', `device id ${id} is already registered`, 'device.id_taken', { id });
        seenDevices.set(id, seenDevices.get(id) ?? row.line);
      }
      devices.push({ profile, id: id || undefined });
    }

    if ('id' in station && errors.every((e) => e.line !== row.line)) {
      planned.push({
        line: row.line,
        resident: {
          name: get('name'),
          address: get('address'),
          stationId: station.id,
          providerId: opts.providerId,
          livesAlone: yes.has(livesAlone),
          capabilityLevel: level,
          notes: get('notes') || null,
          contacts,
          ...(birthDate ? { birthDate } : {}),
          ...(assessedAt ? { capabilityAssessedAt: assessedAt } : {}),
          ...(categories.length > 0 ? { categories } : {}),
          ...(ownPhone ? { phone: ownPhone } : {}),
        },
        devices,
      });
    }
  }
  if (errors.length > 0 || opts.dryRun) return report(rows.length, errors.length > 0 ? [] : planned);

  // Secrets first; then one transaction writes everything or nothing.
  const secrets = planned.map((r) => r.devices.map(() => { const secret = newSecret(); return { secret, hash: hashDeviceSecret(secret) }; }));
  const created = await deps.transaction(async (tx) => {
    const rows: Array<{ line: number; residentId: string; name: string; devices: Array<{ id: string; secret: string }> }> = [];
    for (const [i, row] of planned.entries()) {
      const resident = await deps.onboarding.createResident(row.resident, tx);
      const devices: Array<{ id: string; secret: string }> = [];
      for (const [j, d] of row.devices.entries()) {
        const record = await deps.onboarding.addDevice({ id: d.id ?? newId('dev'), profileId: d.profile, residentId: resident.id, stationId: null, providerId: opts.providerId }, secrets[i]![j]!.hash, tx);
        devices.push({ id: record.id, secret: secrets[i]![j]!.secret });
      }
      rows.push({ line: row.line, residentId: resident.id, name: resident.name, devices });
    }
    return rows;
  });
  return {
    ...report(rows.length, planned),
    created: created.map((c) => ({ ...c, devices: c.devices.map((d) => deps.onboarding.credentials(d.id, d.secret)) })),
  };
}

const levelNames: Record<Station['level'], string> = { district: 'a district centre (区)', street: 'a street centre (街道)', community: 'a community station (社区)' };

/**
 * The community station a row names, by id or name; otherwise what is wrong,
 * in words: a street or district centre named instead (with the community
 * stations under it, those the importer may use), or no station of that name.
 */
function resolveStation(value: string, stations: Station[], visible: (id: string) => boolean): Station | { reason: string; code: string; vars: Record<string, string | number> } {
  const communities = stations.filter((s) => s.level === 'community');
  const byId = communities.find((s) => s.id === value);
  if (byId) return byId;
  const byName = communities.filter((s) => s.name === value);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) return { reason: `${byName.length} community stations are named ${value}; use the station id`, code: 'station.ambiguous', vars: { name: value, n: byName.length } };
  const above = stations.find((s) => s.level !== 'community' && (s.id === value || s.name === value) && visible(s.id));
  if (above) {
    const under = (id: string): Station[] => stations.filter((s) => s.parentId === id).flatMap((s) => (s.level === 'community' ? [s] : under(s.id)));
    const names = under(above.id).filter((s) => visible(s.id)).map((s) => s.name);
    const list = `${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
    return {
      reason: `${value} is ${levelNames[above.level]}; a resident belongs to a community station${names.length > 0 ? ` under it: ${list}` : ''}`,
      code: 'station.above',
      vars: { name: value, level: above.level, under: names.slice(0, 5).join('、'), more: Math.max(0, names.length - 5) },
    };
  }
  return { reason: `no community station ${value}`, code: 'station.unknown', vars: { name: value } };
}
