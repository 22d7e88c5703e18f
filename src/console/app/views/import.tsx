import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { csvCell, download } from '../csv.ts';
import { store, t, useConsole } from '../state.ts';
import { ErrorLine } from './error-line.tsx';
import { columnLabel, describeError, describeProblem } from '../errors.ts';

interface Problem {
  line: number;
  field: string;
  reason: string;
  code?: string;
  vars?: Record<string, string | number>;
}
interface Credentials {
  id: string;
  profile: string;
  mqtt: { clientId: string; username: string; password: string; topics: { publish: string[]; subscribe: string[] } };
}
interface Report {
  dryRun: boolean;
  ok: boolean;
  rows: number;
  residents: number;
  devices: number;
  errors: Problem[];
  created?: Array<{ line: number; residentId: string; name: string; devices: Credentials[] }>;
}

const COLUMNS = ['name', 'address', 'station', 'lives_alone', 'capability_level', 'contact_name', 'contact_relation', 'contact_phone', 'contact2_name', 'contact2_relation', 'contact2_phone', 'devices', 'notes', 'birth_date', 'categories', 'capability_assessed_at', 'phone'];
const EXAMPLE = ['张桂兰', '江汉路 8 号 2 单元 101', '江汉社区养老服务站', '是', '2', '张伟', 'son', '+86 139 0000 1001', '', '', '', 'carebell-sos-pendant; carebell-vitals-band', '糖尿病', '1941-03-15', '独居、低保', '2026-05-20'];

/**
 * Bulk onboarding from a spreadsheet: upload, a dry run with every problem by
 * line and field, then the import; the devices' credentials are shown once
 * and downloadable once as CSV.
 */
export function Import() {
  const s = useConsole();
  const [file, setFile] = useState<{ name: string; bytes: ArrayBuffer } | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  // A file with problems answers 200 (dry run) or 400 with the same report: either way, the report.
  const send = (bytes: ArrayBuffer, dryRun: boolean): Promise<Report> =>
    api<Report>('POST', `/residents/import?dryRun=${dryRun}`, bytes, { contentType: 'text/csv' }).catch((err: unknown) => {
      const body = err instanceof ApiError ? (err.body as Partial<Report> | null) : null;
      if (body?.errors) return body as Report;
      throw err;
    });
  const check = async (picked: File) => {
    setError(null);
    setReport(null);
    setSaved(false);
    setBusy(true);
    try {
      const bytes = await picked.arrayBuffer();
      setFile({ name: picked.name, bytes });
      setReport(await send(bytes, true));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const run = async () => {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      setReport(await send(file.bytes, false));
      void store.loadResidents().catch(() => {});
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const credentialsCsv = (created: NonNullable<Report['created']>): string =>
    [
      ['resident', 'device', 'profile', 'mqtt_client_id', 'mqtt_username', 'mqtt_password', 'publish_topics'].join(','),
      ...created.flatMap((c) => c.devices.map((d) => [c.name, d.id, d.profile, d.mqtt.clientId, d.mqtt.username, d.mqtt.password, d.mqtt.topics.publish.join(' ')].map(csvCell).join(','))),
    ].join('\r\n');

  return (
    <section class="import" data-testid="import">
      <div class="section-head">
        <h1>{t('import.title')}</h1>
        <button class="ghost" data-action="template" onClick={() => download('carebell-import-template.csv', [COLUMNS.join(','), EXAMPLE.map(csvCell).join(',')].join('\r\n'))}>
          {t('import.template')}
        </button>
      </div>
      <div class="card">
        <p class="muted">{t('import.help')}</p>
        <label class="file">
          {t('import.choose')}
          <input type="file" accept=".csv,text/csv" data-testid="import-file" disabled={busy} onChange={(e) => (e.target as HTMLInputElement).files?.[0] && void check((e.target as HTMLInputElement).files![0]!)} />
        </label>
      </div>
      <ErrorLine error={error} testid="import-error" />
      {report && !report.created && (
        <div class="card" data-testid="dry-run">
          <p>{report.ok ? t('import.ready', { rows: report.rows, residents: report.residents, devices: report.devices }) : t('import.problems', { rows: report.rows, n: report.errors.length })}</p>
          {report.errors.length > 0 && (
            <table class="problems">
              <thead>
                <tr>
                  <th>{t('import.line')}</th>
                  <th>{t('import.field')}</th>
                  <th>{t('import.reason')}</th>
                </tr>
              </thead>
              <tbody>
                {report.errors.map((p) => (
                  <tr data-line={p.line}>
                    <td>{p.line}</td>
                    <td>{columnLabel(p.field)}</td>
                    <td>{describeProblem(p)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {report.ok && (
            <button class="primary" data-action="import" disabled={busy} onClick={() => void run()}>
              {t('import.run', { residents: report.residents })}
            </button>
          )}
        </div>
      )}
      {report?.created && (
        <div class="card" data-testid="imported">
          <p>{t('import.done', { residents: report.created.length, devices: report.created.reduce((n, c) => n + c.devices.length, 0) })}</p>
          <p class="warning">{t('import.onlyNow')}</p>
          <button
            class="primary"
            data-action="credentials"
            onClick={() => {
              download(`carebell-credentials-${new Date().toISOString().slice(0, 10)}.csv`, credentialsCsv(report.created!));
              setSaved(true);
            }}
          >
            {t('import.download')}
          </button>
          {saved && <span class="muted"> {t('import.downloaded')}</span>}
          <table class="problems">
            <thead>
              <tr>
                <th>{t('queue.resident')}</th>
                <th>{t('fleet.device')}</th>
                <th>{t('fleet.profile')}</th>
              </tr>
            </thead>
            <tbody>
              {report.created.flatMap((c) =>
                c.devices.map((d) => (
                  <tr>
                    <td>{c.name}</td>
                    <td>{d.id}</td>
                    <td>{s.profiles.get(d.profile)?.model ?? d.profile}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
