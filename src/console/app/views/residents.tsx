import { describeError } from '../errors.ts';
import { useEffect, useState } from 'preact/hooks';
import { api, type CareRecord, type Contact, type Resident, type Station } from '../api.ts';
import { term } from '../i18n.ts';
import { store, t, useConsole } from '../state.ts';
import { ErrorLine } from './error-line.tsx';

type Listed = Resident & { active: boolean; deactivation: { reason: string; note: string | null } | null };
const relations = ['son', 'daughter', 'spouse', 'grandson', 'granddaughter', 'son_in_law', 'daughter_in_law', 'nephew', 'niece', 'neighbour', 'friend', 'carer', 'other'];
const reasons = ['moved_to_care_home', 'died', 'moved_away', 'other'] as const;
/** The visit programme's categories (lives alone is the checkbox of its own). */
const categories = ['empty_nest', 'left_behind', 'disabled', 'severely_disabled', 'special_family', 'low_income'] as const;

/** Residents in the user's scope (staff): search, edit details and contacts, record that someone left the programme. */
export function Residents() {
  const s = useConsole();
  const [list, setList] = useState<Listed[]>([]);
  const [stations, setStations] = useState<Station[]>([]);
  const [include, setInclude] = useState<'active' | 'inactive'>('active');
  const [search, setSearch] = useState('');
  const [open, setOpen] = useState<Listed | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = () => void api<Listed[]>('GET', `/residents?include=${include}`).then(setList).catch(() => {});
  useEffect(load, [include]);
  useEffect(() => void api<Station[]>('GET', '/stations').then(setStations).catch(() => {}), []);
  const stationName = (id: string) => stations.find((x) => x.id === id)?.name ?? id;
  const needle = search.trim().toLowerCase();
  const shown = list.filter((r) => !needle || [r.name, r.address, stationName(r.stationId)].some((x) => x.toLowerCase().includes(needle)));

  const save = async (body: Record<string, unknown>, path = '') => {
    if (!open) return;
    setError(null);
    try {
      if (open.id === '') await api('POST', '/residents', body);
      else await api(path ? 'POST' : 'PATCH', `/residents/${open.id}${path}`, body);
      setOpen(null);
      load();
      void store.loadResidents().catch(() => {});
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section class="residents" data-testid="residents">
      <div class="section-head">
        <h1>{t('residents.title')}</h1>
        <input type="search" placeholder={t('residents.search')} value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} data-testid="residents-search" />
        <select value={include} onChange={(e) => setInclude((e.target as HTMLSelectElement).value as 'active' | 'inactive')} data-testid="residents-include">
          <option value="active">{t('residents.active')}</option>
          <option value="inactive">{t('residents.inactive')}</option>
        </select>
        <button
          class="primary"
          data-action="add-resident"
          onClick={() => {
            setError(null);
            setOpen({ id: '', name: '', address: '', stationId: '', providerId: null, livesAlone: false, capabilityLevel: 0, notes: null, contacts: [], careRecord: {}, active: true, deactivation: null });
          }}
        >
          {t('residents.add')}
        </button>
      </div>
      {open && (
        <ResidentForm
          key={open.id}
          resident={open}
          communities={open.id === '' ? stations.filter((x) => x.level === 'community') : null}
          error={error}
          onSave={(body) => void save(body)}
          onLeave={(body) => void save(body, '/deactivate')}
          onClose={() => setOpen(null)}
        />
      )}
      <table class="users-table">
        <thead>
          <tr>
            <th>{t('queue.resident')}</th>
            <th>{t('residents.address')}</th>
            <th>{t('fleet.station')}</th>
            <th>{t('residents.livesAlone')}</th>
            <th>{t('residents.capability')}</th>
            <th>{t('residents.age')}</th>
            <th>{t(include === 'inactive' ? 'residents.leftBecause' : 'residents.contacts')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr data-resident={r.name}>
              <td>{r.name}</td>
              <td>{r.address}</td>
              <td>{stationName(r.stationId)}</td>
              <td>{r.livesAlone ? t('residents.yes') : ''}</td>
              <td>{term(s.lang, 'capability', r.capabilityLevel)}</td>
              <td>
                {r.age ?? ''}
                {r.oldestOld ? ` · ${t('residents.oldestOld')}` : ''}
              </td>
              <td>{r.active ? r.contacts.map((c) => `${c.name}（${term(s.lang, 'relation', c.relation)}）`).join('、') : [term(s.lang, 'leave', r.deactivation?.reason ?? 'other'), r.deactivation?.note].filter(Boolean).join('：')}</td>
              <td class="actions">
                <div>
                  {r.active && (
                    <button class="ghost" data-action="edit" onClick={() => setOpen(r)}>
                      {t('stations.edit')}
                    </button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The editor's fields as a care record: lists split on commas or semicolons (Chinese or not), empty fields left out. */
function careRecordOf(f: Record<'allergies' | 'conditions' | 'medications' | 'mobility' | 'gp' | 'keySafe' | 'keyholder' | 'doorCode' | 'accessNotes' | 'language', string>): CareRecord {
  const list = (v: string) => v.split(/[,，、;；\n]/).map((x) => x.trim()).filter(Boolean);
  const text = (v: string) => v.trim() || undefined;
  const access = { keySafe: text(f.keySafe), keyholder: text(f.keyholder), doorCode: text(f.doorCode), notes: text(f.accessNotes) };
  const record: CareRecord = {
    allergies: list(f.allergies),
    conditions: list(f.conditions),
    medications: list(f.medications),
    mobility: text(f.mobility),
    gp: text(f.gp),
    access: Object.values(access).some(Boolean) ? access : undefined,
    language: text(f.language),
  };
  return JSON.parse(JSON.stringify(record, (_, v: unknown) => (Array.isArray(v) && v.length === 0 ? undefined : v))) as CareRecord;
}

/** Edits a resident; with `communities` (the stations one may choose), creates one. */
function ResidentForm({
  resident,
  communities,
  error,
  onSave,
  onLeave,
  onClose,
}: {
  resident: Listed;
  communities: Station[] | null;
  error: string | null;
  onSave: (body: Record<string, unknown>) => void;
  onLeave: (body: Record<string, unknown>) => void;
  onClose: () => void;
}) {
  const s = useConsole();
  const [stationId, setStationId] = useState(resident.stationId);
  const [form, setForm] = useState({ name: resident.name, address: resident.address, phone: resident.phone ?? '', livesAlone: resident.livesAlone, capabilityLevel: resident.capabilityLevel, notes: resident.notes ?? '' });
  const [profile, setProfile] = useState({ birthDate: resident.birthDate ?? '', capabilityAssessedAt: resident.capabilityAssessedAt ?? '', categories: (resident.categories ?? []).filter((c) => c !== 'lives_alone') });
  const [contacts, setContacts] = useState<Contact[]>(resident.contacts.map((c) => ({ name: c.name, relation: c.relation, phone: c.phone, priority: c.priority })));
  const c0: CareRecord = resident.careRecord ?? {};
  const [care, setCare] = useState({
    allergies: (c0.allergies ?? []).join('、'),
    conditions: (c0.conditions ?? []).join('、'),
    medications: (c0.medications ?? []).join('；'),
    mobility: c0.mobility ?? '',
    gp: c0.gp ?? '',
    keySafe: c0.access?.keySafe ?? '',
    keyholder: c0.access?.keyholder ?? '',
    doorCode: c0.access?.doorCode ?? '',
    accessNotes: c0.access?.notes ?? '',
    language: c0.language ?? '',
  });
  const [leaving, setLeaving] = useState<{ reason: (typeof reasons)[number]; note: string } | null>(null);
  const setContact = (i: number, patch: Partial<Contact>) => setContacts(contacts.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  return (
    <form
      class="card resident-form"
      data-testid="resident-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave({
          ...form,
          phone: form.phone.trim() || null,
          ...(communities ? { stationId } : {}),
          birthDate: profile.birthDate || null,
          capabilityAssessedAt: profile.capabilityAssessedAt || null,
          categories: [...(form.livesAlone ? ['lives_alone'] : []), ...profile.categories],
          notes: form.notes.trim() || null, contacts: contacts.map((c, i) => ({ ...c, priority: i + 1 })), careRecord: careRecordOf(care) });
      }}
    >
      <h2>{communities ? t('residents.add') : resident.name}</h2>
      {communities && (
        <label>
          {t('residents.station')}
          <select name="stationId" value={stationId} onChange={(e) => setStationId((e.target as HTMLSelectElement).value)} required>
            <option value="">{t('residents.chooseStation')}</option>
            {communities.map((c) => (
              <option value={c.id}>{c.name}</option>
            ))}
          </select>
        </label>
      )}
      <label>
        {t('queue.resident')}
        <input name="name" value={form.name} onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} required />
      </label>
      <label>
        {t('residents.address')}
        <input name="address" value={form.address} onInput={(e) => setForm({ ...form, address: (e.target as HTMLInputElement).value })} required />
      </label>
      <label>
        {t('residents.ownPhone')}
        <input name="phone" type="tel" value={form.phone} placeholder={t('residents.phoneHint')} onInput={(e) => setForm({ ...form, phone: (e.target as HTMLInputElement).value })} />
      </label>
      <label class="check">
        <input name="livesAlone" type="checkbox" checked={form.livesAlone} onChange={(e) => setForm({ ...form, livesAlone: (e.target as HTMLInputElement).checked })} />
        {t('residents.livesAlone')}
      </label>
      <label>
        {t('residents.capability')}
        <select name="capabilityLevel" value={String(form.capabilityLevel)} onChange={(e) => setForm({ ...form, capabilityLevel: Number((e.target as HTMLSelectElement).value) })}>
          {[0, 1, 2, 3, 4].map((l) => (
            <option value={String(l)}>{term(s.lang, 'capability', l)}</option>
          ))}
        </select>
      </label>
      <label>
        {t('field.birthDate')}
        <input name="birthDate" type="date" value={profile.birthDate} onInput={(e) => setProfile({ ...profile, birthDate: (e.target as HTMLInputElement).value })} />
      </label>
      <label>
        {t('field.capabilityAssessedAt')}
        <input name="capabilityAssessedAt" type="date" value={profile.capabilityAssessedAt} onInput={(e) => setProfile({ ...profile, capabilityAssessedAt: (e.target as HTMLInputElement).value })} />
      </label>
      <fieldset class="categories" data-testid="categories">
        <legend>{t('field.categories')}</legend>
        {categories.map((c) => (
          <label class="check">
            <input
              type="checkbox"
              name={`category-${c}`}
              checked={profile.categories.includes(c)}
              onChange={(e) => setProfile({ ...profile, categories: (e.target as HTMLInputElement).checked ? [...profile.categories, c] : profile.categories.filter((x) => x !== c) })}
            />
            {term(s.lang, 'category', c)}
          </label>
        ))}
      </fieldset>
      <label class="wide-field">
        {t('residents.notes')}
        <input name="notes" value={form.notes} onInput={(e) => setForm({ ...form, notes: (e.target as HTMLInputElement).value })} />
      </label>
      <fieldset class="contacts" data-testid="contacts">
        <legend>{t('residents.contacts')}</legend>
        {contacts.map((c, i) => (
          <div class="contact-row" data-contact={i}>
            <span class="muted">{i + 1}</span>
            <input name="contactName" aria-label={t('residents.contactName')} placeholder={t('residents.contactName')} value={c.name} onInput={(e) => setContact(i, { name: (e.target as HTMLInputElement).value })} required />
            <select name="contactRelation" aria-label={t('residents.relation')} value={c.relation} onChange={(e) => setContact(i, { relation: (e.target as HTMLSelectElement).value })}>
              {(relations.includes(c.relation) ? relations : [c.relation, ...relations]).map((r) => (
                <option value={r}>{term(s.lang, 'relation', r)}</option>
              ))}
            </select>
            <input name="contactPhone" aria-label={t('residents.phone')} placeholder={t('residents.phone')} value={c.phone} onInput={(e) => setContact(i, { phone: (e.target as HTMLInputElement).value })} required />
            <button type="button" class="ghost" data-action="remove-contact" onClick={() => setContacts(contacts.filter((_, j) => j !== i))}>
              {t('residents.removeContact')}
            </button>
          </div>
        ))}
        <button type="button" class="ghost" data-action="add-contact" onClick={() => setContacts([...contacts, { name: '', relation: 'son', phone: '', priority: contacts.length + 1 }])}>
          {t('residents.addContact')}
        </button>
      </fieldset>
      <fieldset class="care-edit" data-testid="care-edit">
        <legend>{t('care.edit')}</legend>
        {(
          [
            ['allergies', 'care.allergies', true],
            ['conditions', 'care.conditions', true],
            ['medications', 'care.medications', true],
            ['mobility', 'care.mobility', false],
            ['gp', 'care.gp', false],
            ['keySafe', 'care.keySafe', false],
            ['keyholder', 'care.keyholder', false],
            ['doorCode', 'care.doorCode', false],
            ['accessNotes', 'care.accessNotes', false],
            ['language', 'care.language', false],
          ] as const
        ).map(([name, label, list]) => (
          <label class={name === 'accessNotes' || name === 'medications' ? 'wide-field' : ''}>
            {t(label)}
            <input name={`care-${name}`} value={care[name]} placeholder={list ? t('care.listHelp') : ''} onInput={(e) => setCare({ ...care, [name]: (e.target as HTMLInputElement).value })} />
          </label>
        ))}
      </fieldset>
      <ErrorLine error={error} />
      <div class="form-actions">
        <button type="submit" class="primary">
          {t('stations.save')}
        </button>
        <button type="button" class="ghost" onClick={onClose}>
          {t('stations.cancel')}
        </button>
        <span class="spacer" />
        {communities ? null : leaving ? (
          <span class="leave" data-testid="leave">
            <select name="reason" value={leaving.reason} onChange={(e) => setLeaving({ ...leaving, reason: (e.target as HTMLSelectElement).value as (typeof reasons)[number] })}>
              {reasons.map((r) => (
                <option value={r}>{term(s.lang, 'leave', r)}</option>
              ))}
            </select>
            <input name="leaveNote" placeholder={t('residents.leaveNote')} value={leaving.note} onInput={(e) => setLeaving({ ...leaving, note: (e.target as HTMLInputElement).value })} />
            <button type="button" class="danger" data-action="confirm-leave" onClick={() => onLeave({ reason: leaving.reason, ...(leaving.note.trim() ? { note: leaving.note.trim() } : {}) })}>
              {t('residents.confirmLeave')}
            </button>
          </span>
        ) : (
          <button type="button" class="ghost" data-action="leave" onClick={() => setLeaving({ reason: 'moved_to_care_home', note: '' })}>
            {t('residents.leave')}
          </button>
        )}
      </div>
      <p class="muted">{t('residents.leaveHelp')}</p>
    </form>
  );
}
