import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { describeError } from '../errors.ts';
import { store, t, useConsole, when } from '../state.ts';
import { ErrorLine } from './error-line.tsx';

interface DueTest {
  deviceId: string;
  profileId: string;
  model: string;
  residentId: string | null;
  name: string | null;
  address: string | null;
  stationId: string | null;
  providerId: string | null;
  lastTestAt: string | null;
  dueAt: string;
  overdue: boolean;
}

/** A button test received on the live stream ("test received"), shown at once wherever the operator is. */
export interface TestReceived {
  deviceId: string;
  residentName: string | null;
  at: string;
}

/**
 * Buttons known to work (JGJ/T 484-2019 §10.3.1: tested weekly): those whose
 * last test is older than the policy, or never tested, for the station and
 * the provider to have tested; and the tests received just now.
 */
export function DeviceTests() {
  const s = useConsole();
  const [within, setWithin] = useState(0);
  const [list, setList] = useState<DueTest[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => void api<DueTest[]>('GET', `/device-tests/due?withinDays=${within}`).then(setList).catch((err: unknown) => setError(describeError(err)));
  useEffect(load, [within]);
  // A test received takes its device off the list.
  useEffect(() => {
    const onLive = (e: Event) => (e as CustomEvent<{ event: string }>).detail.event === 'device.test' && load();
    addEventListener('carebell:live', onLive);
    return () => removeEventListener('carebell:live', onLive);
  }, [within]);
  const model = (d: DueTest) => s.profiles.get(d.profileId)?.model ?? d.model;

  return (
    <section class="tests" data-testid="device-tests">
      <div class="section-head">
        <h1>{t('tests.title')}</h1>
        <label>
          {t('visits.within')}{' '}
          <select value={String(within)} onChange={(e) => setWithin(Number((e.target as HTMLSelectElement).value))} data-testid="tests-within">
            <option value="0">{t('visits.overdueOnly')}</option>
            <option value="2">{t('tests.twoDays')}</option>
            <option value="7">{t('visits.week')}</option>
          </select>
        </label>
      </div>
      <p class="muted">{t('tests.policy')}</p>
      {s.testsReceived.length > 0 && (
        <ul class="card received" data-testid="tests-received">
          {s.testsReceived.map((r) => (
            <li>
              ✓ {t('tests.received', { name: r.residentName ?? '', device: r.deviceId })} <span class="muted small">{when(r.at, s.lang)}</span>
            </li>
          ))}
        </ul>
      )}
      <ErrorLine error={error} />
      {list && list.length === 0 && <p class="muted card">{t('tests.none')}</p>}
      {list && list.length > 0 && (
        <table class="users-table" data-testid="tests-due">
          <thead>
            <tr>
              <th>{t('queue.resident')}</th>
              <th>{t('residents.address')}</th>
              <th>{t('tests.device')}</th>
              <th>{t('tests.last')}</th>
              <th>{t('tests.dueAt')}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr class={d.overdue ? 'overdue' : ''} data-device={d.deviceId}>
                <td>{d.name ?? '—'}</td>
                <td>{d.address ?? ''}</td>
                <td>
                  {model(d)} <span class="muted small">{d.deviceId}</span>
                </td>
                <td>{d.lastTestAt ? when(d.lastTestAt, s.lang) : t('tests.never')}</td>
                <td class={d.overdue ? 'warn' : ''}>
                  {d.overdue ? `${t('visits.overdue')} · ` : ''}
                  {when(d.dueAt, s.lang)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Keeps the last few tests received (newest first) for the banner and the tests page. */
export function testReceived(r: TestReceived): void {
  store.set({ testsReceived: [r, ...store.state.testsReceived].slice(0, 5), lastTest: { ...r, shownAt: Date.now() } });
}

/** "测试已收到": a button test just came in (for 15 s), so the person on the phone with the resident hears it worked. */
export function TestBanner() {
  const s = useConsole();
  const last = s.lastTest;
  if (!last || s.now - last.shownAt > 15_000) return null;
  return (
    <div class="banner notice" role="status" data-testid="test-received">
      ✓ {t('tests.received', { name: last.residentName ?? '', device: last.deviceId })}
    </div>
  );
}
