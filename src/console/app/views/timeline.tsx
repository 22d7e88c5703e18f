import type { TimelineEntry } from '../api.ts';
import { term, translate, type Lang } from '../i18n.ts';
import { when } from '../state.ts';

/**
 * An alarm's timeline as a person reads it at 3 a.m.: the notifications of one
 * ladder step on one line ("已通知 社区站、儿子 李明（无法送达）"), expandable to
 * the single deliveries; actors as names; every value translated; no ids.
 */

type Recipient = { kind: 'station'; name: string; level: string } | { kind: 'contact'; name: string; relation: string } | { kind: 'provider'; name: string } | { kind: 'device'; id: string; role: 'siren' | 'resident_device' };

export interface TimelineItem {
  at: string;
  kind: string;
  /** What happened, in a line. */
  what: string;
  /** Who did it, as a name (empty for the system). */
  who: string;
  /** A person's own words (a note), shown on a line of its own. */
  note?: string;
  /** For a grouped line: the single deliveries behind it. */
  parts?: Array<{ at: string; text: string }>;
  /** A notification that could not be delivered (yet). */
  problem?: boolean;
}

const tr = translate;
/** Punctuation as each language writes it. */
const colon = (lang: Lang) => (lang === 'zh' ? '：' : ': ');
const paren = (lang: Lang, text: string) => (lang === 'zh' ? `（${text}）` : ` (${text})`);
const comma = (lang: Lang) => (lang === 'zh' ? '，' : ', ');
const listSep = (lang: Lang) => (lang === 'zh' ? '、' : ', ');
const alertEvents = new Set(['alarm.raised', 'alarm.escalated', 'alarm.reminder']);

/** "值班员 张护士" (a display name when there is one), "老人本人"; empty for the system. */
export function actorName(actor: string, lang: Lang, people: Record<string, string> = {}): string {
  if (actor === 'system' || actor.startsWith('rule:')) return '';
  if (actor === 'resident') return tr(lang, 'actor.resident');
  const [role, name] = actor.includes(':') ? [actor.slice(0, actor.indexOf(':')), actor.slice(actor.indexOf(':') + 1)] : ['', actor];
  const roleLabel = role ? tr(lang, `role.${role}` as Parameters<typeof tr>[1]) : '';
  return [roleLabel === `role.${role}` ? role : roleLabel, people[name] ?? name].filter(Boolean).join(' ');
}

/**
 * For a family member: what is being done, in sentences, the people first
 * ("值班员 张护士 已确认，正在处理"). Returns null for what they need not read.
 */
function familySentence(item: TimelineItem, lang: Lang): string | null {
  const who = item.who;
  switch (item.kind) {
    case 'raised':
      return tr(lang, 'family.said.raised');
    case 'escalated':
      return tr(lang, 'family.said.escalated');
    case 'acknowledged':
      return tr(lang, 'family.said.acknowledged', { who });
    case 'assigned':
      return item.what;
    case 'responded':
      return item.what;
    case 'on_site':
      return item.what;
    case 'resolved':
      return `${tr(lang, 'family.said.resolved')}${item.what.includes(colon(lang)) ? item.what.slice(item.what.indexOf(colon(lang))) : ''}`;
    case 'cancelled_by_resident':
      return tr(lang, 'family.said.cancelled');
    case 'auto_cleared':
      return tr(lang, 'family.said.cleared');
    default:
      return null;
  }
}

export function recipientName(r: Recipient | null | undefined, lang: Lang): string {
  if (!r) return tr(lang, 'recipient.unknown');
  if (r.kind === 'station') return r.name;
  if (r.kind === 'contact') return `${term(lang, 'relation', r.relation)} ${r.name}`;
  if (r.kind === 'provider') return tr(lang, 'recipient.provider', { name: r.name });
  return tr(lang, r.role === 'siren' ? 'recipient.siren' : 'recipient.residentDevice');
}

/** The values that raised a vitals alarm: "心率 132 次/分（> 120，持续 2 分钟）", "预警评分 NEWS2 6". */
export function raisedBy(d: Record<string, unknown> | null, lang: Lang): string {
  if (!d) return '';
  if (typeof d.reading === 'string' && typeof d.value === 'number') {
    const limit = typeof d.above === 'number' ? `> ${d.above}` : typeof d.below === 'number' ? `< ${d.below}` : '';
    const lasting = typeof d.forSeconds === 'number' && d.forSeconds > 0 ? tr(lang, 'vitals.lasting', { minutes: Math.round(d.forSeconds / 60) || 1 }) : '';
    return `${term(lang, 'reading', d.reading)} ${d.value} ${unitLabel(String(d.unit ?? ''), lang)}${limit ? paren(lang, [limit, lasting].filter(Boolean).join(comma(lang))) : ''}`;
  }
  if (typeof d.score === 'number') {
    const values = d.values && typeof d.values === 'object' ? Object.entries(d.values as Record<string, { value?: number } | number>) : [];
    const shown = values
      .map(([kind, v]) => [kind, typeof v === 'number' ? v : v?.value] as const)
      .filter(([, v]) => typeof v === 'number')
      .map(([kind, v]) => `${term(lang, 'reading', kind)} ${v}`);
    return [tr(lang, 'vitals.score', { score: d.score }), ...shown].join(' · ');
  }
  if (typeof d.silentSeconds === 'number') return tr(lang, 'vitals.silent', { minutes: Math.round(d.silentSeconds / 60) });
  return '';
}

const unitLabel = (unit: string, lang: Lang): string => (unit === 'bpm' ? tr(lang, 'unit.bpm') : unit);

/** Turns the raw timeline into readable items, oldest first. */
export function readableTimeline(entries: TimelineEntry[], lang: Lang, people: Record<string, string> = {}): TimelineItem[] {
  const items: TimelineItem[] = [];
  // Notifications of one step (and one event) become one line, placed where the first of them was.
  const groups = new Map<string, { item: TimelineItem; recipients: Map<string, { name: string; state: 'ok' | 'failed' | 'retrying' }> }>();
  for (const e of entries) {
    const d = (e.detail ?? {}) as Record<string, unknown>;
    if (e.kind === 'notified' || e.kind === 'notify_failed') {
      const event = typeof d.event === 'string' ? d.event : 'alarm.raised';
      const key = `${alertEvents.has(event) ? 'alert' : event}|${String(d.step ?? '')}`;
      let group = groups.get(key);
      if (!group) {
        group = { item: { at: e.at, kind: 'notify', what: '', who: '', parts: [] }, recipients: new Map() };
        groups.set(key, group);
        items.push(group.item);
      }
      const recipient = recipientName(d.recipient as Recipient | undefined, lang);
      const state = e.kind === 'notified' ? 'ok' : d.final || d.reason === 'no channel' ? 'failed' : d.deliveredAt ? 'ok' : 'retrying';
      const known = group.recipients.get(recipient);
      // A console and a webhook for one station: delivered if either got through.
      if (!known || state === 'ok' || (known.state === 'retrying' && state === 'failed')) group.recipients.set(recipient, { name: recipient, state });
      const attempts = typeof d.attempts === 'number' ? d.attempts : typeof d.attempt === 'number' ? d.attempt : 1;
      group.item.parts!.push({
        at: e.at,
        text: [recipient, channelLabel(String(d.channel ?? ''), lang), e.kind === 'notified' ? tr(lang, 'notify.delivered') : d.reason === 'no channel' ? tr(lang, 'notify.noChannel') : tr(lang, 'notify.failedAttempts', { n: attempts, error: String(d.error ?? '') })].join(' · '),
      });
      const list = [...group.recipients.values()].map((r) => (r.state === 'ok' ? r.name : `${r.name}${paren(lang, tr(lang, r.state === 'failed' ? 'notify.unreachable' : 'notify.retrying'))}`));
      group.item.what = tr(lang, alertEvents.has(event) ? 'notify.told' : 'notify.toldOf', { who: list.join(listSep(lang)), what: term(lang, 'state', event === 'alarm.resolved' ? 'resolved' : 'acknowledged') });
      group.item.problem = [...group.recipients.values()].some((r) => r.state !== 'ok');
      continue;
    }
    const who = actorName(e.actor, lang, people);
    const item: TimelineItem = { at: e.at, kind: e.kind, what: term(lang, 'timeline', e.kind), who };
    if (typeof d.note === 'string') item.note = d.note;
    switch (e.kind) {
      case 'raised': {
        const values = raisedBy(d, lang);
        if (values) item.what += `${colon(lang)}${values}`;
        break;
      }
      case 'escalated':
        item.what = d.early
          ? tr(lang, 'timeline.escalatedEarly', { level: term(lang, 'level', Number(d.level ?? 0)), from: term(lang, 'level', Number(d.unreachedLevel ?? 0)) })
          : tr(lang, 'timeline.escalatedTo', { level: term(lang, 'level', Number(d.level ?? 0)) });
        item.problem = d.early === true;
        break;
      case 'resolved':
        if (typeof d.outcome === 'string') item.what += `${colon(lang)}${term(lang, 'outcome', d.outcome)}`;
        break;
      case 'assigned':
        item.what = d.to ? tr(lang, 'timeline.assignedTo', { to: String(d.to) }) : tr(lang, 'timeline.released');
        break;
      case 'responded': {
        const name = `${d.relation ? term(lang, 'relation', String(d.relation)) + ' ' : ''}${String(d.name ?? '')}`;
        item.what = d.going ? (typeof d.etaMinutes === 'number' ? tr(lang, 'response.goingEta', { who: name, minutes: d.etaMinutes }) : tr(lang, 'response.going', { who: name })) : tr(lang, 'response.cannot', { who: name });
        break;
      }
      case 'on_site':
        item.what = tr(lang, 'timeline.onSiteWho', { who: String(d.who ?? '') });
        break;
      case 'call':
        item.what = tr(lang, 'timeline.callTo', { contact: String(d.contact ?? ''), outcome: tr(lang, `call.${String(d.outcome)}` as Parameters<typeof tr>[1]) });
        break;
      case 'reminder':
        item.what = tr(lang, 'timeline.reminderAfter', { minutes: Math.round(Number(d.unacknowledgedSeconds ?? 0) / 60) });
        break;
      case 'cancel_too_late':
        item.what = tr(lang, 'timeline.cancelTooLate', { after: Number(d.afterSeconds ?? 0), window: Number(d.windowSeconds ?? 0) });
        break;
    }
    items.push(item);
  }
  return items;
}

const channelLabel = (channel: string, lang: Lang): string => (channel === 'console' ? tr(lang, 'channel.console') : channel === 'webhook' ? tr(lang, 'channel.webhook') : channel === 'mqtt' ? tr(lang, 'channel.mqtt') : channel);

/** The timeline list, readable; grouped lines open to their single deliveries. */
export function Timeline({ entries, lang, people, family = false, testId = 'timeline' }: { entries: TimelineEntry[]; lang: Lang; people?: Record<string, string> | undefined; family?: boolean; testId?: string }) {
  const items = readableTimeline(entries, lang, people);
  if (family) {
    return (
      <ol class="timeline readable family-said" data-testid={testId}>
        {items.map((i) => {
          const said = familySentence(i, lang);
          return (
            said && (
              <li data-kind={i.kind}>
                <time>{when(i.at, lang)}</time>
                <div class="what">
                  <strong>{said}</strong>
                </div>
              </li>
            )
          );
        })}
      </ol>
    );
  }
  return (
    <ol class="timeline readable" data-testid={testId}>
      {items.map((i) => (
        <li class={`tl-${i.kind}${i.problem ? ' problem' : ''}`} data-kind={i.kind}>
          <time>{when(i.at, lang)}</time>
          <div class="what">
            {i.parts ? (
              <details>
                <summary>{i.what}</summary>
                <ul>
                  {i.parts.map((p) => (
                    <li>
                      <time>{when(p.at, lang)}</time> {p.text}
                    </li>
                  ))}
                </ul>
              </details>
            ) : (
              <strong>{i.what}</strong>
            )}
            {i.who && <span class="who">{i.who}</span>}
            {i.note && <p class="note">“{i.note}”</p>}
          </div>
        </li>
      ))}
    </ol>
  );
}
