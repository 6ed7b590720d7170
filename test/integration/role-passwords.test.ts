import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RoleSecret, setRolePasswords } from '../../functions/migrate/role-passwords.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// A role no other test logs in as (roles are shared by every database on the server).
const ROLE = 'payments_authorizer';

/** Migrate's second step: each function role gets the password in its secret. */
describe('role passwords from secrets', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const canLogIn = async (password: string): Promise<boolean> => {
    const url = new URL(db.url);
    url.username = ROLE;
    url.password = password;
    const client = new pg.Client(url.toString());
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const secrets =
    (current: RoleSecret, pending?: RoleSecret) =>
    async (_arn: string, stage: 'AWSCURRENT' | 'AWSPENDING') =>
      stage === 'AWSCURRENT' ? current : pending;

  it('sets the current password, so the role can log in with its secret', async () => {
    const password = randomBytes(12).toString('hex');
    const updated = await setRolePasswords(
      db.url,
      { [ROLE]: 'arn:secret' },
      secrets({ username: ROLE, password }),
    );
    expect(updated).toEqual([ROLE]);
    expect(await canLogIn(password)).toBe(true);
  });

  it('leaves the password to a rotation in progress', async () => {
    const before = randomBytes(12).toString('hex');
    await setRolePasswords(
      db.url,
      { [ROLE]: 'arn' },
      secrets({ username: ROLE, password: before }),
    );
    const updated = await setRolePasswords(
      db.url,
      { [ROLE]: 'arn' },
      secrets(
        { username: ROLE, password: randomBytes(12).toString('hex') },
        { username: ROLE, password: randomBytes(12).toString('hex') },
      ),
    );
    expect(updated).toEqual([]);
    expect(await canLogIn(before)).toBe(true);
  });

  it('refuses a secret that names another user, changing nothing', async () => {
    await expect(
      setRolePasswords(db.url, { [ROLE]: 'arn' }, secrets({ username: 'postgres', password: 'x' })),
    ).rejects.toThrow(/is for user postgres/);
  });
});
