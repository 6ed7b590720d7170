/**
 * `npm run clients -- create|list|rotate|revoke`: API clients and their secret keys in the
 * database at DATABASE_URL (or --database-url). For a deployed stack, the same operations run
 * in the ClientsFunction (docs/RUNBOOK.md, "API clients and keys").
 */
import { parseArgs } from 'node:util';
import {
  ClientManagementError,
  createClient,
  listClientKeys,
  revokeKeys,
  rotateClientKey,
} from '../functions/clients/manage-clients.ts';
import { createPool } from '../functions/store/database.ts';

const USAGE = `usage: npm run clients -- COMMAND [options]

  create CLIENT_ID [--usage-key VALUE]   a new client and its first secret key (shown once)
  list                                   every client's keys: id, created, expires, revoked
  rotate CLIENT_ID [--overlap SECONDS]   a new secret; the old ones stay valid for the overlap
                                         (default 86400)
  revoke --key-id KEY_ID | --client CLIENT_ID
                                         refuse a key (or all of a client's) from now on; the
                                         authorizer cache may accept it up to 60 s longer

options: --database-url URL (default: DATABASE_URL)`;

function fail(message: string, code = 2): never {
  console.error(`clients: ${message}`);
  process.exit(code);
}

let parsed: ReturnType<typeof parseArgs>;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      'database-url': { type: 'string' },
      'usage-key': { type: 'string' },
      overlap: { type: 'string' },
      'key-id': { type: 'string' },
      client: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`);
}
const { values, positionals } = parsed;
const [command, clientId] = positionals;
if (values.help || !command) {
  console.log(USAGE);
  process.exit(command || values.help ? 0 : 2);
}
const databaseUrl = (values['database-url'] as string | undefined) ?? process.env.DATABASE_URL;
if (!databaseUrl) fail('set DATABASE_URL or --database-url');

const db = createPool(databaseUrl, { max: 1 });
try {
  switch (command) {
    case 'create': {
      if (!clientId) fail(`create needs a CLIENT_ID\n${USAGE}`);
      const issued = await createClient(
        db,
        clientId,
        (values['usage-key'] as string | undefined) ?? null,
      );
      console.log(`client ${issued.clientId}, key ${issued.keyId}`);
      console.log(`secret (shown once; only its hash is stored): ${issued.secret}`);
      break;
    }
    case 'rotate': {
      if (!clientId) fail(`rotate needs a CLIENT_ID\n${USAGE}`);
      const overlap = values.overlap === undefined ? undefined : Number(values.overlap);
      const issued = await rotateClientKey(db, clientId, overlap);
      console.log(`client ${issued.clientId}, new key ${issued.keyId}`);
      console.log(`secret (shown once; only its hash is stored): ${issued.secret}`);
      console.log(`the previous keys stay valid for ${issued.oldKeysValidForSeconds} s`);
      break;
    }
    case 'revoke': {
      const keyId = values['key-id'] as string | undefined;
      const client = values.client as string | undefined;
      if (!keyId === !client) fail(`revoke needs exactly one of --key-id or --client\n${USAGE}`);
      const revoked = await revokeKeys(db, keyId ? { keyId } : { clientId: client ?? '' });
      console.log(`revoked: ${revoked.join(', ')}`);
      break;
    }
    case 'list':
      for (const key of await listClientKeys(db)) {
        const state = key.revokedAt
          ? `revoked ${key.revokedAt.toISOString()}`
          : key.expiresAt
            ? `${key.valid ? 'valid until' : 'expired'} ${key.expiresAt.toISOString()}`
            : 'valid';
        console.log(`${key.clientId}\t${key.keyId}\t${key.createdAt.toISOString()}\t${state}`);
      }
      break;
    default:
      fail(`unknown command ${command}\n${USAGE}`);
  }
} catch (error) {
  if (error instanceof ClientManagementError) fail(error.message, 1);
  fail(`${error instanceof Error ? error.message : String(error)}`, 1);
} finally {
  await db.end();
}
