import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCore, type Core } from '../../helpers/core.ts';

describe('device directory', () => {
  let core: Core;
  beforeEach(async () => {
    core = await buildCore();
    await core.resident('res-1');
    for (let i = 0; i < 5; i++) await core.device(`pendant-${i}`, 'carebell-sos-pendant', 'res-1');
  });
  afterEach(() => core.close());

  it('writes live state in slices: at most the number asked, the rest kept for the next slice', async () => {
    for (const d of core.directory.all()) core.directory.heard(d, core.clock.now());
    expect(core.directory.unsaved).toBe(5);
    expect(await core.directory.persist(2)).toBe(2);
    expect(core.directory.unsaved).toBe(3);
    expect((await core.repos.devices.list()).filter((d) => d.lastSeen !== null)).toHaveLength(2);
    expect(await core.directory.persist()).toBe(3);
    expect(core.directory.unsaved).toBe(0);
    expect((await core.repos.devices.list()).every((d) => d.lastSeen === core.clock.now())).toBe(true);
  });

  it('a slice that fails to write keeps its devices unsaved', async () => {
    for (const d of core.directory.all()) core.directory.heard(d, core.clock.now());
    const save = core.repos.devices.saveLiveState.bind(core.repos.devices);
    core.repos.devices.saveLiveState = async () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    await expect(core.directory.persist(2)).rejects.toThrow('disk is full');
    expect(core.directory.unsaved).toBe(5);
    core.repos.devices.saveLiveState = save;
    expect(await core.directory.persist()).toBe(5);
  });

  it("changes its revision when a device is added or taken out of service, not when one is heard", async () => {
    const dir = core.directory;
    const r0 = dir.revision;
    for (const d of dir.all()) dir.heard(d, core.clock.now());
    await dir.persist();
    expect(dir.revision).toBe(r0);
    await core.device('pendant-new', 'carebell-sos-pendant', 'res-1');
    const r1 = dir.revision;
    expect(r1).not.toBe(r0);
    dir.decommissioned(dir.get('pendant-0')!);
    expect(dir.get('pendant-0')!.decommissioned).toBe(true);
    const r2 = dir.revision;
    expect(r2).not.toBe(r1);
    dir.decommissioned(dir.get('pendant-0')!); // already out of service: nothing changes
    expect(dir.revision).toBe(r2);
    // Another node took pendant-1 out of service: its record, read again, says so.
    await core.repos.devices.decommission('pendant-1', core.clock.now());
    await dir.refresh('pendant-1');
    expect(dir.get('pendant-1')!.decommissioned).toBe(true);
    expect(dir.revision).not.toBe(r2);
  });

  it("lists a resident's devices and a station's own as a walk through the whole fleet would, a record replaced included", async () => {
    const dir = core.directory;
    await core.resident('res-2', { stationId: 'street-1' });
    await core.device('band-2', 'carebell-vitals-band', 'res-2');
    await core.device('siren-1', 'carebell-station-siren', null, 'community-1');
    // pendant-3 given to res-2: its record read again is a new device object with the other resident and station.
    dir.add({ ...(await core.repos.devices.get('pendant-3'))!, residentId: 'res-2' });
    const ids = (ds: Array<{ id: string }>) => ds.map((d) => d.id).sort();
    for (const r of ['res-1', 'res-2', 'res-none']) expect(ids(dir.ofResident(r)), r).toEqual(ids(dir.all().filter((d) => d.residentId === r)));
    for (const st of ['community-1', 'street-1', 'district-1']) expect(ids(dir.ofStation(st)), st).toEqual(ids(dir.all().filter((d) => d.residentId === null && d.stationId === st)));
    expect(ids(dir.ofResident('res-2'))).toEqual(['band-2', 'pendant-3']);
    expect(ids(dir.ofStation('community-1'))).toEqual(['siren-1']);
    // The siren moved to the street centre: listed there, no longer at the community station.
    dir.add({ ...(await core.repos.devices.get('siren-1'))!, stationId: 'street-1' });
    expect(ids(dir.ofStation('community-1'))).toEqual([]);
    expect(ids(dir.ofStation('street-1'))).toEqual(['siren-1']);
    expect(dir.ofResident('res-2').find((d) => d.id === 'pendant-3')).toBe(dir.get('pendant-3')); // the new object, not the old
  });
});
