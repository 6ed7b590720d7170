/**
 * Takes headless Chromium screenshots of the local dashboard during a proof run:
 *
 *   node scripts/screenshot-dashboard.ts [--ops 1000] [--out .local/dashboard.png]
 *   node scripts/screenshot-dashboard.ts --url http://127.0.0.1:3000/dashboard   # a running stack
 *
 * Without --url it starts `npm run prove` (scripts/prove/main.ts) with --hold, takes one
 * screenshot mid-run (`…-midrun.png`, after the relay SIGKILL) and one after the report, then
 * stops the proof. Needs Debian's chromium (`apt-get install -y chromium`) or CHROMIUM=path.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    out: { type: 'string', default: '.local/dashboard.png' },
    ops: { type: 'string', default: '1000' },
    width: { type: 'string', default: '1400' },
    height: { type: 'string', default: '1100' },
  },
});

const chromium =
  process.env.CHROMIUM ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((path) =>
    existsSync(path),
  );
if (!chromium) {
  console.error(
    'no Chromium found: apt-get update && apt-get install -y chromium (or set CHROMIUM)',
  );
  process.exit(2);
}

/** Runs headless Chromium once and resolves with the PNG's path. */
async function screenshot(url: string, out: string): Promise<string> {
  await mkdir(dirname(out), { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
  try {
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      `--screenshot=${out}`,
      `--window-size=${values.width},${values.height}`,
      '--virtual-time-budget=5000',
      url,
    ];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(chromium as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', reject);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    if (code !== 0 || !existsSync(out)) throw new Error(`chromium exited ${code} without ${out}`);
    console.log(`screenshot: ${out} (${statSync(out).size} bytes) of ${url}`);
    return out;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const out = String(values.out);
if (values.url) {
  await screenshot(String(values.url), out);
  process.exit(0);
}

const main = fileURLToPath(new URL('./prove/main.ts', import.meta.url));
const prove = spawn(process.execPath, [main, '--ops', String(values.ops), '--hold', '60'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const exited = new Promise<number | string>((resolve) =>
  prove.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
);
let dashboard = '';
let verdict = '';
let midrun: Promise<string> | undefined;
let final: Promise<string> | undefined;
const midrunOut = out.replace(/(\.png)?$/, '-midrun.png');

createInterface({ input: prove.stdout }).on('line', (line) => {
  console.log(line);
  dashboard = /dashboard (http\S+)/.exec(line)?.[1] ?? dashboard;
  if (/^PROOF (HOLDS|FAILED)/.test(line)) verdict = line;
  const progress = /ops (\d+)\/(\d+)/.exec(line);
  if (dashboard && progress && !midrun && Number(progress[1]) >= Number(progress[2]) * 0.6) {
    midrun = screenshot(dashboard, midrunOut);
  }
  if (dashboard && line.startsWith('holding the stack') && !final) {
    // Let a couple of samples land after the drain, then take the final picture.
    final = new Promise((resolve) => setTimeout(resolve, 2_000)).then(() =>
      screenshot(dashboard, out),
    );
    final.finally(() => prove.kill('SIGINT'));
  }
});

const code = await exited;
await midrun?.catch((error: unknown) => console.error(String(error)));
const taken = await final?.catch((error: unknown) => {
  console.error(String(error));
  return undefined;
});
console.log(verdict || `prove exited ${code} before its report`);
process.exit(taken && verdict.startsWith('PROOF HOLDS') ? 0 : 1);
