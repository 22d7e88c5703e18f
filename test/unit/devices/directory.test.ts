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
});
