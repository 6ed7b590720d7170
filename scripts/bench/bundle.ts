import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INIT_RUNNER = fileURLToPath(new URL('./init-runner.ts', import.meta.url));

/**
 * The banner of lib/constructs/payments-function.ts (CREATE_REQUIRE_BANNER), copied rather
 * than imported so that the bench does not load aws-cdk-lib.
 */
export const CREATE_REQUIRE_BANNER =
  "import { createRequire as __bannerCreateRequire } from 'node:module'; const require = __bannerCreateRequire(import.meta.url);";

export interface BundleResult {
  bundleBytes: number;
  sourceMapBytes: number;
  /** Median ms to import the bundle (module load + top-level init), with source maps on. */
  initMs: number;
  /** The same without --enable-source-maps. */
  initMsNoSourceMaps: number;
  /** Median ms from process start until the import finished (Node's own startup included). */
  processReadyMs: number;
  initRunsMs: number[];
  /** Bytes of the bundle per package (or repository folder), largest first. */
  largestInputs: { input: string; bytes: number }[];
  /** Imports left to the runtime (loaded at init if imported at the top level). */
  externalImports: string[];
}

/**
 * Bundles functions/charge/handler.ts as the CDK stack does (esbuild: bundle, minify, ESM,
 * platform node, target node24, @aws-sdk/* and pg-native external, the createRequire
 * banner, an external source map) into a temporary directory whose node_modules links to
 * this repository's, standing in for the SDK the Lambda runtime provides. Then imports it
 * in `runs` fresh `node` processes with DATABASE_URL set (the pool connects lazily).
 */
export async function measureChargeBundle(options: {
  runs: number;
  databaseUrl: string;
}): Promise<BundleResult> {
  const esbuild = await import('esbuild');
  const dir = await mkdtemp(join(tmpdir(), 'bench-charge-bundle-'));
  try {
    const outfile = join(dir, 'index.mjs');
    const built = await esbuild.build({
      entryPoints: [join(REPO_ROOT, 'functions/charge/handler.ts')],
      outfile,
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      mainFields: ['module', 'main'],
      external: ['@aws-sdk/*', 'pg-native'],
      banner: { js: CREATE_REQUIRE_BANNER },
      sourcemap: true,
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
    });
    const output = Object.values(built.metafile.outputs).find((o) => o.entryPoint !== undefined);
    const byInput = new Map<string, number>();
    for (const [path, input] of Object.entries(output?.inputs ?? {})) {
      const owner =
        path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ??
        path.split('/').slice(0, 2).join('/');
      byInput.set(owner, (byInput.get(owner) ?? 0) + input.bytesInOutput);
    }
    const largestInputs = [...byInput.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([input, bytes]) => ({ input, bytes }));
    const externalImports = [
      ...new Set(
        (output?.imports ?? [])
          .filter((i) => i.external && !i.path.startsWith('node:') && !/^[a-z_/]+$/.test(i.path))
          .map((i) => i.path),
      ),
    ];
    await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const bundleBytes = (await stat(outfile)).size;
    const sourceMapBytes = (await stat(`${outfile}.map`)).size;

    const withMaps: number[] = [];
    const withoutMaps: number[] = [];
    const ready: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      const a = await runInit(outfile, options.databaseUrl, true);
      withMaps.push(a.initMs);
      ready.push(a.processUptimeMs);
      withoutMaps.push((await runInit(outfile, options.databaseUrl, false)).initMs);
    }
    return {
      bundleBytes,
      sourceMapBytes,
      initMs: median(withMaps),
      initMsNoSourceMaps: median(withoutMaps),
      processReadyMs: median(ready),
      initRunsMs: withMaps,
      largestInputs,
      externalImports,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runInit(
  bundle: string,
  databaseUrl: string,
  sourceMaps: boolean,
): Promise<{ initMs: number; processUptimeMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...(sourceMaps ? ['--enable-source-maps'] : []), INIT_RUNNER, bundle],
      {
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: databaseUrl,
          AWS_REGION: 'us-east-1',
          AWS_LAMBDA_FUNCTION_NAME: 'charge',
          POWERTOOLS_SERVICE_NAME: 'payments',
          POWERTOOLS_LOG_LEVEL: 'ERROR',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"initMs"'));
      if (code !== 0 || !line) {
        reject(new Error(`init runner failed (${code}): ${err.slice(-500)}`));
        return;
      }
      resolve(JSON.parse(line) as { initMs: number; processUptimeMs: number });
    });
  });
}
