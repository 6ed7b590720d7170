import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CREATE_REQUIRE_BANNER, REPO_ROOT } from '../../lib/constructs/payments-function.ts';
import { resourceNamed, synthPayments } from './support/synth-payments.ts';

describe('charge function bundle (real esbuild, no Docker)', () => {
  const { app, statelessTemplate: template } = synthPayments({ bundle: ['charge'] });
  const [, charge] = resourceNamed(template, 'AWS::Lambda::Function', 'ChargeFunction');
  const assetHash = (charge.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
  const assetDir = join(app.outdir, `asset.${assetHash}`);

  it('is an S3 asset whose handler is the ES module index.mjs', () => {
    expect(charge.Properties.Handler).toBe('index.handler');
    expect(readdirSync(assetDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
  });

  it('starts with the createRequire banner, so CommonJS dependencies can require at runtime', () => {
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith(CREATE_REQUIRE_BANNER)).toBe(true);
  });

  it('is minified, leaves the AWS SDK to the runtime and maps stack traces to the sources', () => {
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    // A sentence from a comment in the handler: minification drops comments.
    expect(bundle).not.toContain('Middleware order matters');
    const map = JSON.parse(readFileSync(join(assetDir, 'index.mjs.map'), 'utf8')) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    expect(map.sources).toEqual(
      expect.arrayContaining([expect.stringMatching(/functions\/charge\/handler\.ts$/)]),
    );
    expect(map.sources.filter((source) => source.includes('node_modules/@aws-sdk/'))).toEqual([]);
    expect(map.sourcesContent).toBeUndefined();
    expect(charge.Properties.Environment).toMatchObject({
      Variables: { NODE_OPTIONS: '--enable-source-maps' },
    });
  });

  it('leaves the functions that were not asked for as inline stubs', () => {
    const [, relay] = resourceNamed(template, 'AWS::Lambda::Function', 'RelayFunction');
    expect(relay.Properties.Code).toHaveProperty('ZipFile');
    expect(existsSync(assetDir)).toBe(true);
  });
});

describe('migrate function bundle', () => {
  it('carries the SQL migrations next to index.mjs, where the runner looks for them', () => {
    const { app, statelessTemplate: template } = synthPayments({ bundle: ['migrate'] });
    const [, migrate] = resourceNamed(template, 'AWS::Lambda::Function', 'MigrateFunction');
    const assetHash = (migrate.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const bundled = readdirSync(join(app.outdir, `asset.${assetHash}`, 'migrations')).sort();
    const sources = readdirSync(join(REPO_ROOT, 'functions', 'migrate', 'migrations')).sort();
    expect(bundled).toEqual(sources);
    expect(bundled.length).toBeGreaterThan(0);
  });
});
