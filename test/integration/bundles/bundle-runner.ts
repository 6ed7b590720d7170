/**
 * A stand-in for the Lambda runtime around one bundle: imports `<dir>/index.mjs` (resolving
 * its imports from the bundle's own directory, as /var/task), or a handler source file given
 * by path (`functions/x/handler.ts`), then invokes its handler for
 * every JSON line on stdin ({ id, event, timeoutMs }) and prints `@@result {id, ok, value}`.
 * Everything else the handler prints (EMF metrics, logs) goes to stdout as it would in Lambda.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { initLocalLambdaRuntime, invokeLocally } from '../../../scripts/local/lambda-runtime.ts';

const [dir, functionName = 'bundle'] = process.argv.slice(2);
if (!dir) throw new Error('usage: bundle-runner.ts <bundle dir | handler.ts> [function name]');
await initLocalLambdaRuntime();
const entry = dir.endsWith('.ts') ? dir : join(dir, 'index.mjs');
const { handler } = await import(pathToFileURL(entry).href);
console.log(JSON.stringify({ ready: true }));

for await (const line of createInterface({ input: process.stdin })) {
  const { id, event, timeoutMs } = JSON.parse(line) as {
    id: number;
    event: unknown;
    timeoutMs: number;
  };
  try {
    const value = await invokeLocally(handler, event, { functionName, timeoutMs });
    console.log(`@@result ${JSON.stringify({ id, ok: true, value })}`);
  } catch (error) {
    console.log(`@@result ${JSON.stringify({ id, ok: false, value: String(error) })}`);
  }
}
