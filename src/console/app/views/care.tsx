import type { CareRecord, Resident } from '../api.ts';
import { term } from '../i18n.ts';
import { t, useConsole } from '../state.ts';

/**
 * What a responder reads first: allergies and conditions, medicines, how the
 * person moves, their doctor, how to get in, the language to speak, and the
 * station's plan for this kind of alarm. Empty fields are left out.
 */
export function CareCard({ resident, plan }: { resident: Resident; plan?: string | null }) {
  const s = useConsole();
  const c: CareRecord = resident.careRecord ?? {};
  const rows: Array<[string, string | undefined, boolean?]> = [
    [t('care.allergies'), c.allergies?.join('、'), true],
    [t('care.conditions'), c.conditions?.join('、')],
    [t('care.medications'), c.medications?.join('；')],
    [t('care.mobility'), c.mobility],
    [t('care.gp'), c.gp],
    [t('care.keySafe'), c.access?.keySafe],
    [t('care.keyholder'), c.access?.keyholder],
    [t('care.doorCode'), c.access?.doorCode],
    [t('care.accessNotes'), c.access?.notes],
    [t('care.language'), c.language],
  ];
  const shown = rows.filter(([, v]) => v);
  return (
    <div class="card care" data-testid="care-card">
      <div class="care-head">
        <h2>{t('care.title')}</h2>
        <a class="button ghost" href={`#/card/${resident.id}`} data-action="print-card">
          {t('care.print')}
        </a>
      </div>
      {plan && (
        <div class="plan" data-testid="response-plan">
          <strong>{t('care.plan')}</strong> {plan}
        </div>
      )}
      {shown.length === 0 ? (
        <p class="muted">{t('care.none')}</p>
      ) : (
        <dl>
          {shown.map(([label, value, alert]) => (
            <>
              <dt>{label}</dt>
              <dd class={alert ? 'alert' : ''}>{value}</dd>
            </>
          ))}
        </dl>
      )}
      <p class="muted small">
        {t('detail.capability')}: {term(s.lang, 'capability', resident.capabilityLevel)}
        {resident.livesAlone ? ` · ${t('detail.livesAlone')}` : ''}
      </p>
    </div>
  );
}

/** The emergency card, one A5/A4 page to print and keep by the phone or in the responder's bag. */
export function EmergencyCard({ resident }: { resident: Resident }) {
  const s = useConsole();
  return (
    <section class="emergency-card" data-testid="emergency-card">
      <h1>
        {t('care.cardTitle')} · {resident.name}
      </h1>
      <p class="address">{resident.address}</p>
      <CareCard resident={resident} />
      <h2>{t('detail.contacts')}</h2>
      <ol class="contacts">
        {resident.contacts.map((ct) => (
          <li>
            {term(s.lang, 'relation', ct.relation)} {ct.name} {ct.phone}
          </li>
        ))}
      </ol>
      <p class="no-print">
        <button class="primary" onClick={() => window.print()}>
          {t('care.printNow')}
        </button>{' '}
        <a href="#/" class="button ghost">
          ← {t('action.back')}
        </a>
      </p>
    </section>
  );
}
