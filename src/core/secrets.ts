import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Secrets are stored as scrypt hashes: `scrypt$N$r$p$salt$hash` (base64url).
 * Device secrets are 256-bit random values issued by the gateway, so a cost of
 * N=2^12 keeps a reconnect storm of thousands of devices cheap while a leaked
 * database still reveals nothing usable. Passwords people choose use N=2^15.
 */
export const DEVICE_SECRET_COST = 1 << 12;
export const PASSWORD_COST = 1 << 15;
const KEY_LENGTH = 32;

function scryptAsync(secret: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashSecret(secret: string, cost = DEVICE_SECRET_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, cost, 8, 1);
  return `scrypt$${cost}$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(secret, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A new device secret or API token: 32 random bytes, base64url. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** For high-entropy tokens (never for passwords): a fast, unsalted digest is enough. */
export const sha256 = (value: string | Buffer): string => createHash('sha256').update(value).digest('hex');

export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
