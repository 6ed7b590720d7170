/**
 * The package as a user gets it: `npm pack`, the tarball installed into an empty project
 * outside this repository (with Powertools and pg at the versions this repository locks,
 * from the npm cache, or the registry when not cached), type-checked against its
 * declarations, and an idempotent function run against PostgreSQL there.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPackageTestDatabase, type PackageTestDatabase } from './support/database.ts';

const run = promisify(execFile);
const PACKAGE_DIR = new URL('..', import.meta.url).pathname;
const REPO_ROOT = new URL('../../..', import.meta.url).pathname;

/** The environment of a shell outside this repository: no npm script or loader settings. */
const outsideEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !name.startsWith('npm_') && name !== 'NODE_OPTIONS' && !name.startsWith('VITEST'),
  ),
);

async function lockedVersion(name: string): Promise<string> {
  const manifest = JSON.parse(
    await readFile(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8'),
  );
  return manifest.version;
}

const CONSUMER = `import { readFile } from 'node:fs/promises';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { PostgresPersistenceLayer } from '@effectively-once/powertools-idempotency-postgres';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const ddl = new URL(
  import.meta.resolve('@effectively-once/powertools-idempotency-postgres/migrations/idempotency_records.sql'),
);
await pool.query(await readFile(ddl, 'utf8'));

let runs = 0;
const charge = makeIdempotent(
  async (order: { orderId: string; amount: number }) => {
    runs += 1;
    return { charged: order.amount, run: runs };
  },
  {
    persistenceStore: new PostgresPersistenceLayer({ pool, inProgressWindowSeconds: 30 }),
    config: new IdempotencyConfig({ eventKeyJmesPath: 'orderId' }),
  },
);
const first = await charge({ orderId: 'o-1', amount: 100 });
const second = await charge({ orderId: 'o-1', amount: 100 });
const { rows } = await pool.query('SELECT status, response FROM idempotency_records');
console.log(JSON.stringify({ first, second, runs, rows }));
await pool.end();
`;

let db: PackageTestDatabase;
let workDir: string;
let project: string;
let packedFiles: string[];

beforeAll(async () => {
  db = await createPackageTestDatabase({ migrate: false });
  workDir = await mkdtemp(join(tmpdir(), 'idempotency-postgres-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', workDir], {
    cwd: PACKAGE_DIR,
    env: outsideEnv,
  });
  // npm prints the prepare script's output before the JSON.
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('[')));
  packedFiles = packed.files.map((file: { path: string }) => file.path);

  project = join(workDir, 'project');
  await run('mkdir', [project]);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(workDir, packed.filename),
      `@aws-lambda-powertools/idempotency@${await lockedVersion('@aws-lambda-powertools/idempotency')}`,
      `pg@${await lockedVersion('pg')}`,
      `@types/pg@${await lockedVersion('@types/pg')}`,
      `@types/node@${await lockedVersion('@types/node')}`,
      `@types/aws-lambda@${await lockedVersion('@types/aws-lambda')}`,
    ],
    { cwd: project, env: outsideEnv },
  );
  await writeFile(join(project, 'consumer.ts'), CONSUMER);
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'nodenext',
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        types: ['node'],
      },
      include: ['consumer.ts'],
    }),
  );
}, 300_000);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
  await db.drop();
});

describe('the packed package', () => {
  it('ships the built ES modules, their declarations and the migration, and no sources or tests', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'BEHAVIOUR.md',
        'CHANGELOG.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/redis/index.js',
        'dist/redis/index.d.ts',
        'migrations/idempotency_records.sql',
      ]),
    );
    expect(packedFiles.filter((file) => /^(src|test)\//.test(file))).toEqual([]);
  });

  it('type-checks a consumer against its declarations', async () => {
    const tsc = join(REPO_ROOT, 'node_modules', '.bin', 'tsc');
    await expect(
      run(tsc, ['-p', project], { cwd: project, env: outsideEnv }),
    ).resolves.toMatchObject({ stdout: '' });
  });

  it('makes a function idempotent against PostgreSQL in an empty project', async () => {
    const { stdout } = await run(process.execPath, ['consumer.ts'], {
      cwd: project,
      env: { ...outsideEnv, DATABASE_URL: db.url },
    });
    const result = JSON.parse(stdout);
    expect(result.runs).toBe(1);
    expect(result.first).toEqual({ charged: 100, run: 1 });
    expect(result.second).toEqual(result.first);
    expect(result.rows).toEqual([{ status: 'COMPLETED', response: { charged: 100, run: 1 } }]);
  });
});
