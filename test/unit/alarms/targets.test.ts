import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveTargets, type Delivery } from '../../../src/escalation/targets.ts';
import type { Alarm } from '../../../src/core/alarm.ts';
import { buildCore, type Core } from '../../helpers/core.ts';

/** Target resolution: from a ladder step's names to deliveries, over the station tree and the resident's contacts. */

const who = (d: Delivery): string => {
  const t = d.target;
  return `${d.channel}:${t.kind === 'station' ? t.id : t.kind === 'contact' || t.kind === 'provider' ? t.name : `${t.role}/${t.id}`}`;
};

describe('target resolution', () => {
  let core: Core;
  const targets = () => ({ stations: core.repos.stations, residents: core.repos.residents, directory: core.directory, providers: core.repos.providers });
  const alarmFor = async (residentId: string | null, stationId: string | null): Promise<Alarm> => ({ ...(await core.raise({ residentId, stationId })) });

  beforeEach(async () => {
    core = await buildCore({ webhooks: true });
    await core.resident('res-1', {}, [{ name: '王强', relation: 'son' }, { name: '王芳', relation: 'daughter', webhookUrl: null }, { name: '李医生', relation: 'doctor' }]);
    await core.device('siren-1', 'carebell-station-siren', null, 'community-1');
    await core.device('pendant-1', 'carebell-sos-pendant', 'res-1');
    await core.device('door-1', 'carebell-door-contact', 'res-1'); // takes no commands
  });
  afterEach(() => core.close());

  it('the first step: the community station (console and webhook), its siren and the resident\'s devices that take commands', async () => {
    const r = resolveTargets(targets(), await alarmFor('res-1', null), ['community_station', 'station_siren', 'resident_device']);
    expect(r.deliveries.map(who)).toEqual(['console:community-1', 'webhook:community-1', 'mqtt:siren/siren-1', 'mqtt:resident_device/pendant-1']);
    expect(r.unreachable).toEqual([]);
  });

  it('walks up the station tree for the street and district centres', async () => {
    const r = resolveTargets(targets(), await alarmFor('res-1', null), ['street_centre', 'district_centre']);
    expect(r.deliveries.map(who)).toEqual(['console:street-1', 'webhook:street-1', 'console:district-1', 'webhook:district-1']);
  });

  it('a contact without a webhook is unreachable and said so by name; a contact named twice in a step is told once', async () => {
    const r = resolveTargets(targets(), await alarmFor('res-1', null), ['primary_contact', 'all_contacts']);
    expect(r.deliveries.map(who)).toEqual(['webhook:王强', 'webhook:李医生']);
    expect(r.unreachable).toEqual([{ text: 'contact 王芳 (daughter, 13800000001) has no notification webhook', recipient: { kind: 'contact', name: '王芳', relation: 'daughter' } }]);
  });

  it('says who could not be reached when the resident has no contacts or no station above', async () => {
    await core.repos.stations.insert({ id: 'lone-community', name: 'lone', level: 'community', parentId: null, webhookUrl: null, responsePlans: {}, createdAt: 0 });
    await core.resident('res-lone', { stationId: 'lone-community' });
    const r = resolveTargets(targets(), await alarmFor('res-lone', null), ['community_station', 'street_centre', 'primary_contact', 'station_siren']);
    expect(r.deliveries.map(who)).toEqual(['console:lone-community']);
    expect(r.unreachable.map((u) => u.text)).toEqual(['street station (none above this resident)', 'primary contact (the resident has no contacts)']);
  });

  it('an alarm with no resident (a station device) reaches its station and no one\'s devices', async () => {
    const r = resolveTargets(targets(), await alarmFor(null, 'community-1'), ['community_station', 'resident_device', 'all_contacts']);
    expect(r.deliveries.map(who)).toEqual(['console:community-1', 'webhook:community-1']);
    expect(r.unreachable).toEqual([]);
  });
});
