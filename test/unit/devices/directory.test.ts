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
});
