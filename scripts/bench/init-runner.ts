/**
 * Child process of the bundle benchmark: imports the bundle given as argv[2] once and prints
 * `{"initMs": …}`: module load plus the handler module's top-level init (pool, Powertools,
 * middy chain), as a Lambda cold start runs it before the first invocation.
 */
import { pathToFileURL } from 'node:url';

const bundle = process.argv[2];
if (!bundle) throw new Error('usage: node init-runner.ts BUNDLE');
const started = performance.now();
const module = (await import(pathToFileURL(bundle).href)) as { handler?: unknown };
const initMs = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error('the bundle exports no handler');
console.log(JSON.stringify({ initMs, processUptimeMs: process.uptime() * 1000 }));
process.exit(0);
