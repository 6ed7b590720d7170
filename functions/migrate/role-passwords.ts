import pg from 'pg';

/** The secret of one function role, as Secrets Manager holds it. */
export interface RoleSecret {
  username: string;
  password: string;
}

/** Reads a secret at a stage; undefined when the secret has no version at that stage. */
export type ReadSecret = (
  secretArn: string,
  stage: 'AWSCURRENT' | 'AWSPENDING',
) => Promise<RoleSecret | undefined>;

/**
 * Gives each function role the password in its secret, so a function can log in from its
 * first deploy on. Skips a role whose secret is being rotated (an AWSPENDING version that
 * differs from AWSCURRENT): the rotation function owns the password until it finishes.
 * @returns the roles whose password was set
 */
export async function setRolePasswords(
  database: string | pg.ClientConfig,
  roleSecretArns: Record<string, string>,
  readSecret: ReadSecret,
  log: (message: string) => void = () => {},
): Promise<string[]> {
  const client = new pg.Client(database);
  await client.connect();
  const updated: string[] = [];
  try {
    for (const [role, secretArn] of Object.entries(roleSecretArns)) {
      const current = await readSecret(secretArn, 'AWSCURRENT');
      if (!current) throw new Error(`the secret of role ${role} has no current version`);
      if (current.username !== role) {
        throw new Error(`the secret of role ${role} is for user ${current.username}`);
      }
      const pending = await readSecret(secretArn, 'AWSPENDING');
      if (pending && pending.password !== current.password) {
        log(`role ${role}: rotation in progress, password left to the rotation`);
        continue;
      }
      await client.query(
        `ALTER ROLE ${client.escapeIdentifier(role)} PASSWORD ${client.escapeLiteral(current.password)}`,
      );
      updated.push(role);
    }
  } finally {
    await client.end();
  }
  return updated;
}
