import type { Role } from '../../src/store/users.ts';
import type { DeviceCredentials, TestGateway } from './gateway.ts';

/**
 * Two of everything, so every role has something of its own and something
 * that is not: district A → street A → community A (own) and district B →
 * street B → community B (other); providers own/other; a resident and an SOS
 * pendant on each side. The non-admin accounts all have the "own" side in
 * scope and the "other" side out of it: an operator at street A, the own
 * provider, and a family member of the own resident.
 */
export interface Tenants {
  stations: { districtA: string; streetA: string; communityA: string; districtB: string; streetB: string; communityB: string };
  providers: { own: string; other: string };
  residents: { own: string; other: string };
  devices: { own: DeviceCredentials; other: DeviceCredentials };
  users: Record<Role, { id: string | null; username: string; password: string; token: string }>;
}

export const PASSWORD = 'correct horse battery staple';

export async function seedTenants(gw: TestGateway): Promise<Tenants> {
  const must = async (method: string, path: string, body?: unknown, status = 201) => {
    const r = await gw.api(method, path, body);
    if (r.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const station = async (name: string, level: string, parentId?: string) => (await must('POST', '/api/v1/stations', { name, level, ...(parentId ? { parentId } : {}) })).id as string;
  const districtA = await station('滨江区养老服务指导中心', 'district');
  const streetA = await station('西兴街道居家养老服务中心', 'street', districtA);
  const communityA = await station('江汉社区养老服务站', 'community', streetA);
  const districtB = await station('上城区养老服务指导中心', 'district');
  const streetB = await station('湖滨街道居家养老服务中心', 'street', districtB);
  const communityB = await station('东坡社区养老服务站', 'community', streetB);
  const providerOwn = (await must('POST', '/api/v1/providers', { name: '安康居家养老服务有限公司' })).id as string;
  const providerOther = (await must('POST', '/api/v1/providers', { name: '福寿家庭养老床位运营公司' })).id as string;
  const resident = async (name: string, stationId: string, providerId: string, phone: string) =>
    (
      await must('POST', '/api/v1/residents', {
        name,
        address: '测试路 1 号',
        stationId,
        providerId,
        livesAlone: true,
        capabilityLevel: 2,
        contacts: [{ name: `${name}的家属`, relation: 'son', phone, priority: 1 }],
      })
    ).id as string;
  const residentOwn = await resident('王秀英', communityA, providerOwn, '+86 138 0000 0001');
  const residentOther = await resident('陈桂芳', communityB, providerOther, '+86 138 0000 0002');
  const deviceOwn = await gw.onboardDevice('carebell-sos-pendant', residentOwn, 'pendant-own');
  const deviceOther = await gw.onboardDevice('carebell-sos-pendant', residentOther, 'pendant-other');

  const account = async (role: Role, scope: Record<string, string | null>) => {
    const username = `${role}.own`;
    const created = role === 'admin' ? undefined : await must('POST', '/api/v1/users', { username, password: PASSWORD, role, ...scope });
    const name = created ? username : 'admin.user';
    if (!created) await must('POST', '/api/v1/users', { username: name, password: PASSWORD, role: 'admin' });
    const login = await gw.api('POST', '/api/v1/auth/login', { username: name, password: PASSWORD }, null);
    if (login.status !== 200) throw new Error(`login ${name}: ${login.status} ${JSON.stringify(login.body)}`);
    return { id: login.body.user.id as string, username: name, password: PASSWORD, token: login.body.token as string };
  };
  const users = {
    admin: await account('admin', {}),
    operator: await account('operator', { stationId: streetA, displayName: '张护士' }),
    provider: await account('provider', { providerId: providerOwn }),
    // The own resident's son, who is also her contact.
    family: await account('family', { residentId: residentOwn, displayName: '王秀英的家属', relation: 'son' }),
    // A community volunteer of street A, who visits.
    visitor: await account('visitor', { stationId: streetA, displayName: '志愿者小李' }),
  };
  return {
    stations: { districtA, streetA, communityA, districtB, streetB, communityB },
    providers: { own: providerOwn, other: providerOther },
    residents: { own: residentOwn, other: residentOther },
    devices: { own: deviceOwn, other: deviceOther },
    users,
  };
}
