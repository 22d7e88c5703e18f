import type { ProfileRegistry } from '../src/profiles/registry.ts';
import { Random } from './random.ts';
import type { DeviceRole, Scenario } from './scenario.ts';

/** The profile each device role uses; wearables alternate between two vendors so both formats run. */
export const roleProfiles: Record<DeviceRole, readonly string[]> = {
  pendant: ['carebell-sos-pendant'],
  band: ['carebell-vitals-band', 'huaxin-band-h7'],
  radar: ['carebell-fall-radar'],
  bed: ['carebell-bed-mat'],
  motion: ['carebell-pir-motion'],
  door: ['carebell-door-contact'],
  smoke: ['anxin-smoke-sd3'],
  gas: ['ruiqi-gas-gd20'],
  water: ['carebell-water-leak'],
};

const surnames = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '胡', '朱', '高', '林', '何', '郭', '马', '罗'];
const given = ['秀英', '桂英', '秀兰', '玉兰', '桂兰', '秀珍', '凤英', '建国', '国强', '淑珍', '玉珍', '德明', '志强', '兰英', '美华', '金凤', '福生', '永安', '惠芳', '素梅'];
const streets = ['江汉路', '西兴路', '闻涛路', '长河路', '滨文路', '江南大道', '春晓路', '冠山路'];

/** A resident's own physiology: the baseline the behaviours vary around. */
export interface Baseline {
  hr: number;
  spo2: number;
  sys: number;
  dia: number;
  temp: number;
  rr: number;
}

export interface PlannedDevice {
  id: string;
  role: DeviceRole;
  profile: string;
  /** Set once provisioned (from the API, or a fleet file). */
  password?: string;
}

export interface PlannedResident {
  index: number;
  name: string;
  address: string;
  station: number;
  livesAlone: boolean;
  capabilityLevel: number;
  contact: { name: string; relation: string; phone: string };
  baseline: Baseline;
  devices: PlannedDevice[];
  /** Set once provisioned. */
  id?: string;
}

export interface FleetPlan {
  /** Prefix of every device id, so runs of different scenarios or seeds never collide. */
  prefix: string;
  seed: number;
  stations: Array<{ name: string; id?: string }>;
  residents: PlannedResident[];
  /** Set once provisioned: district and street above the community stations. */
  districtId?: string;
  streetId?: string;
}

/** The homes of a scenario: people, their baselines and their device kits, all from the seed. */
export function planFleet(scenario: Scenario, seed: number, profiles: ProfileRegistry, prefix = `sim-${scenario.name}-${seed}`): FleetPlan {
  const rng = new Random(seed);
  const stations = Array.from({ length: scenario.stations }, (_, i) => ({ name: `${streets[i % streets.length]}社区养老服务站${i >= streets.length ? ` ${i + 1}` : ''}` }));
  const residents: PlannedResident[] = [];
  for (let i = 0; i < scenario.residents; i++) {
    const r = rng.fork(`resident-${i}`);
    const surname = r.pick(surnames);
    const devices = scenario.devices.map((role) => {
      const choices = roleProfiles[role];
      const profile = choices[i % choices.length]!;
      if (!profiles.get(profile)) throw new Error(`profile ${profile} (role ${role}) is not in the catalogue`);
      return { id: `${prefix}-r${String(i).padStart(4, '0')}-${role}`, role, profile };
    });
    residents.push({
      index: i,
      name: surname + r.pick(given),
      address: `${r.pick(streets)} ${r.int(1, 300)} 号 ${r.int(1, 6)} 单元 ${r.int(1, 6)}0${r.int(1, 4)}`,
      station: i % scenario.stations,
      livesAlone: r.next() < 0.6,
      capabilityLevel: r.int(0, 4),
      contact: { name: surname + r.pick(given), relation: r.pick(['son', 'daughter', 'niece', 'neighbour']), phone: `+86 13${r.int(0, 9)} ${r.int(1000, 9999)} ${r.int(1000, 9999)}` },
      baseline: {
        hr: Math.round(r.normal(72, 6)),
        spo2: Math.min(99, Math.round(r.normal(96.5, 1))),
        sys: Math.round(r.normal(128, 8)),
        dia: Math.round(r.normal(80, 5)),
        temp: Math.round(r.normal(36.5, 0.15) * 10) / 10,
        rr: Math.round(r.normal(15, 1.5)),
      },
      devices,
    });
  }
  return { prefix, seed, stations, residents };
}
