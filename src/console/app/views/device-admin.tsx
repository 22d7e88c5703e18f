import { useEffect, useState } from 'preact/hooks';
import { api, type Device, type Resident } from '../api.ts';
import { describeError, sayCode } from '../errors.ts';
import { term } from '../i18n.ts';
import { store, t, useConsole, when } from '../state.ts';
import { ErrorLine } from './error-line.tsx';
import { FormDialog } from './dialogs.tsx';

/** What registering a device or giving it a new password answers: shown once, never stored by the console. */
export interface Credentials {
  id: string;
  profile: string;
  mqtt: { clientId: string; username: string; password: string; topics: { publish: string[]; subscribe: string[] } };
  broker: { mqtt: number | null; mqtts: number | null };
}

interface Check {
  name: string;
  ok: boolean;
  at: string | null;
  detail: string;
  code?: string;
  vars?: Record<string, string | number>;
}
interface Provisioning {
  deviceId: string;
  provisioned: boolean;
  checks: Check[];
}

/** A check's line in the user's language (the server's English when this console does not know the code). */
function checkText(c: Check): { label: string; detail: string } {
  const reason = typeof c.vars?.reason === 'string' && c.name === 'connected' ? sayCode('refusal', c.vars.reason, {}, c.vars.reason) : undefined;
  const vars = { ...c.vars, ...(typeof c.vars?.at === 'string' ? { at: when(c.vars.at, store.state.lang) } : {}), ...(reason ? { reason } : {}) };
  return { label: sayCode('check', c.name, {}, c.name), detail: sayCode('prov', c.code, vars, c.detail) };
}

/** Registers a device in a home: resident, model, optional id; answers the credentials. */
export function AddDevice({ onDone, onClose }: { onDone: (c: Credentials, residentId: string) => void; onClose: () => void }) {
  const s = useConsole();
  const residents = [...s.residents.values()].sort((a, b) => a.name.localeCompare(b.name, 'zh'));
  const profiles = [...s.profiles.values()].filter((p) => p.kind !== 'siren');
  const [form, setForm] = useState({ residentId: '', profile: profiles[0]?.id ?? '', id: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <FormDialog
      label={t('devices.addTitle')}
      testid="add-device"
      dirty={form.residentId !== '' || form.id.trim() !== ''}
      busy={busy}
      error={error}
      submitLabel={t('devices.create')}
      onSubmit={() => {
        if (!form.residentId) return setError(t('error.field', { field: t('devices.resident'), problem: t('rule.required') }));
        setBusy(true);
        setError(null);
        return api<Credentials>('POST', '/devices', { profile: form.profile, residentId: form.residentId, ...(form.id.trim() ? { id: form.id.trim() } : {}) })
          .then((c) => onDone(c, form.residentId))
          .catch((err: unknown) => setError(describeError(err)))
          .finally(() => setBusy(false));
      }}
      onCancel={onClose}
    >
      <label>
        {t('devices.resident')}
        <select name="residentId" value={form.residentId} onChange={(e) => setForm({ ...form, residentId: (e.target as HTMLSelectElement).value })} required>
          <option value="">{t('devices.chooseResident')}</option>
          {residents.map((r: Resident) => (
            <option value={r.id}>
              {r.name} · {r.address}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('devices.profile')}
        <select name="profile" value={form.profile} onChange={(e) => setForm({ ...form, profile: (e.target as HTMLSelectElement).value })}>
          {profiles.map((p) => (
            <option value={p.id}>
              {term(s.lang, 'kind', p.kind)} · {p.model}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('devices.id')}
        <input name="id" value={form.id} onInput={(e) => setForm({ ...form, id: (e.target as HTMLInputElement).value })} />
      </label>
    </FormDialog>
  );
}

/** Copies a value; where the browser refuses the clipboard, the value is selected for Ctrl+C. */
function CopyButton({ value, target }: { value: string; target: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      const el = document.querySelector(`[data-copy="${target}"]`);
      if (el) getSelection()?.selectAllChildren(el);
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return (
    <button type="button" class="ghost small" data-action={`copy-${target}`} onClick={() => void copy()}>
      {t(copied ? 'devices.copied' : 'devices.copy')}
    </button>
  );
}

/** The connection details of one device, as on the screen and on the printed sheet. */
function CredentialRows({ c, copy }: { c: Credentials; copy: boolean }) {
  const rows: Array<[string, string, string]> = [
    ['server', t('devices.server'), location.hostname],
    ...(c.broker.mqtt !== null ? [['port', t('devices.port'), String(c.broker.mqtt)] as [string, string, string]] : []),
    ...(c.broker.mqtts !== null ? [['tls-port', t('devices.tlsPort'), String(c.broker.mqtts)] as [string, string, string]] : []),
    ['client-id', t('devices.clientId'), c.mqtt.clientId],
    ['username', t('devices.username'), c.mqtt.username],
    ['password', t('devices.password'), c.mqtt.password],
    ['publish', t('devices.publish'), c.mqtt.topics.publish.join('  ')],
    ...(c.mqtt.topics.subscribe.length > 0 ? [['subscribe', t('devices.subscribe'), c.mqtt.topics.subscribe.join('  ')] as [string, string, string]] : []),
  ];
  return (
    <dl class="credentials">
      {rows.map(([key, label, value]) => (
        <>
          <dt>{label}</dt>
          <dd>
            <code data-copy={key}>{value}</code>
            {copy && (key === 'password' || key === 'client-id') && <CopyButton value={value} target={key} />}
          </dd>
        </>
      ))}
    </dl>
  );
}

/**
 * Credentials just issued: the password is in this answer only. Copy, or print
 * the home's installation sheet (every device issued for this home in this
 * session, with the resident's name and address).
 */
export function CredentialsDialog({ credentials: device, residentId, home, onClose }: { credentials: Credentials; residentId: string | null; home: Credentials[]; onClose: () => void }) {
  const s = useConsole();
  const resident = residentId ? s.residents.get(residentId) : undefined;
  return (
    <div class="backdrop">
      <div class="dialog card wide-dialog" role="dialog" data-testid="credentials">
        <h2>
          {t('devices.credentials')} · {device.id}
        </h2>
        <p class="warning">{t('devices.onlyNow')}</p>
        <CredentialRows c={device} copy />
        <div class="row end">
          <button type="button" class="ghost" data-action="print-sheet" onClick={() => window.print()}>
            {t('devices.printSheet')}
          </button>
          <button type="button" class="primary" data-action="close-credentials" onClick={onClose}>
            {t('devices.close')}
          </button>
        </div>
      </div>
      <section class="print-sheet" data-testid="print-sheet">
        <h1>{t('devices.sheetTitle')}</h1>
        {resident && (
          <p class="address">
            {resident.name} · {resident.address}
          </p>
        )}
        {home.map((c) => (
          <div class="sheet-device">
            <h2>
              {term(s.lang, 'kind', s.profiles.get(c.profile)?.kind ?? c.profile)} · {s.profiles.get(c.profile)?.model ?? c.profile}
            </h2>
            <CredentialRows c={c} copy={false} />
          </div>
        ))}
        <p class="muted">{t('devices.sheetNote')}</p>
      </section>
    </div>
  );
}

/**
 * One device: its provisioning check as a checklist (each ✗ with its reason,
 * refreshed every 2 s while open, so the installer watches it turn green), a
 * new password, decommissioning.
 */
export function DeviceDialog({ device, onCredentials, onChanged, onClose }: { device: Device; onCredentials: (c: Credentials) => void; onChanged: (message: string) => void; onClose: () => void }) {
  const s = useConsole();
  const [report, setReport] = useState<Provisioning | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'rotate' | 'decommission' | null>(null);
  useEffect(() => {
    let stopped = false;
    const load = () =>
      void api<Provisioning>('GET', `/devices/${device.id}/provisioning`)
        .then((r) => !stopped && setReport(r))
        .catch((err: unknown) => !stopped && setError(describeError(err)));
    load();
    const timer = setInterval(load, 2_000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [device.id]);
  const act = async (what: 'rotate' | 'decommission') => {
    setError(null);
    try {
      if (what === 'rotate') onCredentials(await api<Credentials>('POST', `/devices/${device.id}/rotate-secret`));
      else {
        await api('POST', `/devices/${device.id}/decommission`);
        onChanged(t('devices.decommissioned', { id: device.id }));
      }
    } catch (err) {
      setError(describeError(err));
    }
  };
  const resident = device.residentId ? s.residents.get(device.residentId) : undefined;
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="dialog card wide-dialog" role="dialog" data-testid="device-dialog" data-device={device.id}>
        <h2>
          {term(s.lang, 'kind', s.profiles.get(device.profile)?.kind ?? device.profile)} · {device.id}
        </h2>
        {resident && (
          <p class="muted">
            {resident.name} · {resident.address}
          </p>
        )}
        <h3>{t('devices.checklist')}</h3>
        {report && (
          <>
            <p class={report.provisioned ? 'ok-line' : 'warning'} data-testid="provisioned">
              {report.provisioned ? `✓ ${t('devices.ready')}` : t('devices.notReady')}
            </p>
            <ul class="checklist" data-testid="checklist">
              {report.checks.map((c) => {
                const text = checkText(c);
                return (
                  <li class={c.ok ? 'ok' : 'problem'} data-check={c.name} data-ok={String(c.ok)}>
                    <span class="mark" aria-hidden="true">
                      {c.ok ? '✓' : '✗'}
                    </span>
                    <span class="label">{text.label}</span>
                    <span class="muted">
                      {text.detail}
                      {c.ok && c.at && c.name !== 'no_rejected_messages' ? ` · ${when(c.at, s.lang)}` : ''}
                    </span>
                  </li>
                );
              })}
            </ul>
          </>
        )}
        <ErrorLine error={error} />
        {confirm && (
          <div class="confirm card" role="alertdialog" data-testid="confirm">
            <p>{confirm === 'rotate' ? t('devices.rotateConfirm') : t('devices.decommissionConfirm', { id: device.id })}</p>
            <div class="row end">
              <button type="button" class="ghost" onClick={() => setConfirm(null)}>
                {t('stations.cancel')}
              </button>
              <button
                type="button"
                class={confirm === 'rotate' ? 'primary' : 'danger'}
                data-action={`confirm-${confirm}`}
                onClick={() => {
                  setConfirm(null);
                  void act(confirm);
                }}
              >
                {confirm === 'rotate' ? t('devices.rotate') : t('devices.decommission')}
              </button>
            </div>
          </div>
        )}
        <div class="row end">
          {!device.decommissioned && (
            <>
              <button type="button" class="ghost" data-action="rotate" onClick={() => setConfirm('rotate')}>
                {t('devices.rotate')}
              </button>
              <button type="button" class="ghost danger-text" data-action="decommission" onClick={() => setConfirm('decommission')}>
                {t('devices.decommission')}
              </button>
            </>
          )}
          <button type="button" class="primary" data-action="close-device" onClick={onClose}>
            {t('devices.close')}
          </button>
        </div>
      </div>
    </div>
  );
}
