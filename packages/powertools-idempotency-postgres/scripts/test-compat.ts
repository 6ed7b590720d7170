/**
 * Runs the package's behaviour tests against the lowest and the newest Powertools idempotency
 * versions it supports: the lowest from its peerDependencies range, the newest the npm
 * registry has in that range. Each version is installed into its own project under
 * .local/compat/ next to a copy of the package's sources and tests, so their imports of
 * Powertools resolve to that version and everything else to this repository's packages.
 *
 *   npm run test:compat                  # lowest and newest
 *   npm run test:compat -- 2.33.0        # given versions
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POWERTOOLS = '@aws-lambda-powertools/idempotency';
const PACKAGE_DIR = new URL('..', import.meta.url).pathname;
const REPO_ROOT = new URL('../../..', import.meta.url).pathname;
const COMPAT_DIR = join(REPO_ROOT, '.local', 'compat');
/**
 * Left out: the packaging test (about the tarball, not Powertools' version) and the Redis
 * variant's (it starts redis-server with this repository's test helper, absent in the copy).
 */
const SUITES = [
  'postgres-persistence-layer.test.ts',
  'powertools-handlers.test.ts',
  'durable-replay.test.ts',
];

/** A shell outside this repository's npm scripts: npm_* settings would point npm back here. */
const outsideEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')),
);

const manifest = JSON.parse(await readFile(join(PACKAGE_DIR, 'package.json'), 'utf8'));

async function versionsToCheck(range: string): Promise<string[]> {
  const lowest = /^\^(\d+\.\d+\.\d+)$/.exec(range)?.[1];
  if (!lowest) throw new Error(`expected a caret range for ${POWERTOOLS}, found ${range}`);
  const { stdout } = await run('npm', ['view', `${POWERTOOLS}@${range}`, 'version', '--json'], {
    env: outsideEnv,
  });
  const inRange: string | string[] = JSON.parse(stdout);
  const newest = [inRange].flat().at(-1);
  if (!newest) throw new Error(`the registry has no ${POWERTOOLS} in ${range}`);
  return [...new Set([lowest, newest])];
}

/** A project holding the package's sources and tests, with Powertools `version` installed. */
async function prepareProject(version: string): Promise<string> {
  const project = join(COMPAT_DIR, `powertools-${version}`);
  await rm(project, { recursive: true, force: true });
  await mkdir(project, { recursive: true });
  for (const folder of ['src', 'test', 'migrations']) {
    await cp(join(PACKAGE_DIR, folder), join(project, folder), { recursive: true });
  }
  // The package's own dependencies at its own ranges, as a user's install would resolve them
  // next to this Powertools version (which may pin other versions of the same packages).
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({
      name: `compat-powertools-${version}`,
      private: true,
      type: 'module',
      dependencies: { ...manifest.dependencies, [POWERTOOLS]: version },
    }),
  );
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: project,
    env: outsideEnv,
  });
  const installed = JSON.parse(
    await readFile(join(project, 'node_modules', POWERTOOLS, 'package.json'), 'utf8'),
  );
  if (installed.version !== version) {
    throw new Error(`${project} has ${POWERTOOLS} ${installed.version}, not ${version}`);
  }
  return project;
}

const range: string = manifest.peerDependencies[POWERTOOLS];
const versions = process.argv.length > 2 ? process.argv.slice(2) : await versionsToCheck(range);
console.log(`${POWERTOOLS} ${range}: checking ${versions.join(', ')}`);
const projects = await Promise.all(versions.map(prepareProject));

const config = join(COMPAT_DIR, 'vitest.config.ts');
await writeFile(
  config,
  `import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    include: ${JSON.stringify(projects.flatMap((project) => SUITES.map((suite) => join(project, 'test', suite))))},
    globalSetup: [${JSON.stringify(join(REPO_ROOT, 'test', 'support', 'global-setup.ts'))}],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
`,
);
const vitest = join(REPO_ROOT, 'node_modules', '.bin', 'vitest');
const child = spawn(vitest, ['run', '--root', COMPAT_DIR, '--config', config], {
  stdio: 'inherit',
  cwd: REPO_ROOT,
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
