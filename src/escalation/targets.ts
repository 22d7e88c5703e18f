import type { Alarm } from '../core/alarm.ts';
import type { DeviceDirectory } from '../devices/directory.ts';
import type { ResidentRepository } from '../store/residents.ts';
import type { StationRepository } from '../store/stations.ts';
import type { TargetSpec } from './policies.ts';

/** One delivery owed: a channel and whom it reaches. Stored as JSON in the outbox. */
export type Delivery =
  | { channel: 'console'; target: { kind: 'station'; id: string; name: string; level: string } }
  | {
      channel: 'webhook';
      target: { kind: 'station'; id: string; name: string; level: string } | { kind: 'contact'; name: string; relation: string; phone: string; priority: number } | { kind: 'provider'; id: string; name: string };
      url: string;
    }
  | { channel: 'mqtt'; target: { kind: 'device'; id: string; role: 'siren' | 'resident_device' } };

/** Whom a notification is for, as a person reads it: a station (with its level), a contact (with the relation) or a device. */
export type Recipient =
  | { kind: 'station'; name: string; level: string }
  | { kind: 'contact'; name: string; relation: string }
  | { kind: 'provider'; name: string }
  | { kind: 'device'; id: string; role: 'siren' | 'resident_device' };

export const recipientOf = (target: Delivery['target']): Recipient => {
  switch (target.kind) {
    case 'station':
      return { kind: 'station', name: target.name, level: target.level };
    case 'contact':
      return { kind: 'contact', name: target.name, relation: target.relation };
    case 'provider':
      return { kind: 'provider', name: target.name };
    case 'device':
      return { kind: 'device', id: target.id, role: target.role };
  }
};

export interface TargetResolution {
  deliveries: Delivery[];
  /** Targets the step names that have no channel (e.g. a contact without a webhook): said on the timeline. */
  unreachable: Array<{ text: string; recipient: Recipient | null }>;
}

export interface TargetDeps {
  stations: StationRepository;
  residents: ResidentRepository;
  directory: DeviceDirectory;
  providers: { get(id: string): { id: string; name: string; webhookUrl: string | null } | undefined };
}

/** The providers an alarm concerns: its device's (else its resident's); for a station's reminder, those it lists. */
function providersOf(deps: TargetDeps, alarm: Alarm, resident: { providerId: string | null } | undefined): string[] {
  if (alarm.deviceId !== null || alarm.residentId !== null) {
    const id = (alarm.deviceId ? deps.directory.get(alarm.deviceId)?.providerId : null) ?? resident?.providerId ?? null;
    return id === null ? [] : [id];
  }
  const listed = alarm.detail?.providerIds;
  return Array.isArray(listed) ? listed.filter((x): x is string => typeof x === 'string') : [];
}

/** Resolves a step's targets from the station tree (community → street → district) and the resident's contacts. */
export function resolveTargets(deps: TargetDeps, alarm: Alarm, specs: TargetSpec[]): TargetResolution {
  const deliveries: Delivery[] = [];
  const unreachable: TargetResolution['unreachable'] = [];
  const chain = alarm.stationId ? deps.stations.chain(alarm.stationId) : [];
  const resident = alarm.residentId ? deps.residents.get(alarm.residentId) : undefined;
  const contacts = resident?.contacts ?? [];

  const station = (level: 'community' | 'street' | 'district') => {
    const s = chain.find((c) => c.level === level);
    if (!s) return void unreachable.push({ text: `${level} station (none above this resident)`, recipient: null });
    const target = { kind: 'station' as const, id: s.id, name: s.name, level: s.level };
    deliveries.push({ channel: 'console', target });
    if (s.webhookUrl) deliveries.push({ channel: 'webhook', target, url: s.webhookUrl });
  };
  const contact = (c: (typeof contacts)[number]) => {
    const target = { kind: 'contact' as const, name: c.name, relation: c.relation, phone: c.phone, priority: c.priority };
    if (c.webhookUrl) deliveries.push({ channel: 'webhook', target, url: c.webhookUrl });
    else unreachable.push({ text: `contact ${c.name} (${c.relation}, ${c.phone}) has no notification webhook`, recipient: { kind: 'contact', name: c.name, relation: c.relation } });
  };

  for (const spec of specs) {
    switch (spec) {
      case 'community_station':
        station('community');
        break;
      case 'street_centre':
        station('street');
        break;
      case 'district_centre':
        station('district');
        break;
      case 'primary_contact':
        if (contacts[0]) contact(contacts[0]);
        else unreachable.push({ text: 'primary contact (the resident has no contacts)', recipient: null });
        break;
      case 'all_contacts':
        for (const c of contacts) contact(c);
        break;
      case 'station_siren': {
        const community = chain.find((c) => c.level === 'community');
        for (const d of community ? deps.directory.ofStation(community.id) : []) {
          if (d.profile.profile.kind === 'siren') {
            deliveries.push({ channel: 'mqtt', target: { kind: 'device', id: d.id, role: 'siren' } });
          }
        }
        break;
      }
      case 'provider': {
        const ids = providersOf(deps, alarm, resident);
        if (ids.length === 0) unreachable.push({ text: 'provider (none serves this device or resident)', recipient: null });
        for (const id of ids) {
          const p = deps.providers.get(id);
          if (!p) continue;
          if (p.webhookUrl) deliveries.push({ channel: 'webhook', target: { kind: 'provider', id: p.id, name: p.name }, url: p.webhookUrl });
          else unreachable.push({ text: `provider ${p.name} has no notification webhook`, recipient: { kind: 'provider', name: p.name } });
        }
        break;
      }
      case 'resident_device':
        for (const d of alarm.residentId ? deps.directory.ofResident(alarm.residentId) : []) {
          if (d.profile.profile.commands) {
            deliveries.push({ channel: 'mqtt', target: { kind: 'device', id: d.id, role: 'resident_device' } });
          }
        }
        break;
    }
  }
  // A contact named by two specs of one step is told once.
  const seen = new Set<string>();
  return {
    deliveries: deliveries.filter((d) => {
      const key = `${d.channel}|${JSON.stringify(d.target)}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }),
    unreachable,
  };
}
