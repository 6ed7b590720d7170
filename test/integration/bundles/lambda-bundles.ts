import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FUNCTION_NAMES, type FunctionName } from '../../../lib/config.ts';
import { REPO_ROOT } from '../../../lib/constructs/payments-function.ts';
import { resourceNamed, synthPayments } from '../../cdk/support/synth-payments.ts';

/** Where each function's deployable bundle was copied, alone, with only the runtime's packages. */
export type IsolatedBundles = Record<FunctionName, string>;

/**
 * Synthesizes the stateless stack with every function really bundled (esbuild, as `cdk
 * deploy` would), and copies each bundle asset into a directory of its own whose only
 * node_modules entry is `@aws-sdk` — what the nodejs24.x runtime provides. Anything else a
 * bundle imports at runtime and did not bundle fails to resolve, as it would in Lambda.
 */
export function synthesizeIsolatedBundles(
  names: readonly FunctionName[] = FUNCTION_NAMES,
): IsolatedBundles {
  const { app, statelessTemplate } = synthPayments({ bundle: [...names] });
  const root = mkdtempSync(join(tmpdir(), 'payments-bundles-'));
  const runtimeModules = join(root, 'runtime', 'node_modules');
  mkdirSync(runtimeModules, { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules', '@aws-sdk'), join(runtimeModules, '@aws-sdk'));
  const bundles: Partial<IsolatedBundles> = {};
  for (const name of names) {
    const [, fn] = resourceNamed(
      statelessTemplate,
      'AWS::Lambda::Function',
      `${name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}Function`,
    );
    const code = fn.Properties.Code as { S3Key?: string };
    if (!code.S3Key) throw new Error(`${name} was not bundled (its code is inline)`);
    const asset = join(app.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    // /var/task in Lambda: the bundle's directory, with the runtime's modules one level up.
    const task = join(root, 'runtime', name);
    cpSync(asset, task, { recursive: true });
    if (!readdirSync(task).includes('index.mjs'))
      throw new Error(`${name}: no index.mjs in ${asset}`);
    bundles[name] = task;
  }
  return bundles as IsolatedBundles;
}
