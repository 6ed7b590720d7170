import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The parts of a V8 .cpuprofile this summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** Sampled time that was not idle. */
  busyMs: number;
  idleMs: number;
  /** Self time per package / area (GC, node internals, a node_modules package, a repo dir). */
  byArea: { area: string; percent: number }[];
  /** Self time per function, highest first (percent of busy time). */
  topSelf: { frame: string; percent: number }[];
  /** Inclusive time of application and library functions (not node internals). */
  topInclusive: { frame: string; percent: number }[];
}

function areaOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return '(gc)';
  if (functionName === '(program)') return '(program)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg?.[1]) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  const repo = url.match(/\/(functions\/[^/]+|scripts\/[^/]+|client)\//);
  if (repo?.[1]) return repo[1];
  return url === '' ? '(native: syscalls, V8)' : url;
}

function frameName(callFrame: CpuProfile['nodes'][number]['callFrame']): string {
  const { functionName, url, lineNumber } = callFrame;
  const short = url
    .replace(/^.*node_modules\//, '')
    .replace(/^file:\/\/.*?\/(functions|scripts|client)\//, '$1/');
  return `${functionName || '(anonymous)'} ${short}${url ? `:${lineNumber + 1}` : ''}`.trim();
}

/**
 * Summarises the .cpuprofile in `dir` written by process `pid` (Node names them
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile). The profile samples wall-clock time:
 * on a busy machine a frame where the process gives up the CPU (a socket write that wakes
 * the peer) also collects the time spent waiting to run again.
 */
export async function summariseProfile(
  dir: string,
  pid: number | undefined,
  top = 20,
): Promise<ProfileSummary | undefined> {
  const files = (await readdir(dir))
    .filter((name) => name.endsWith('.cpuprofile') && name.includes(`.${pid}.`))
    .sort();
  const file = files.at(-1);
  if (!file) return undefined;
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + us);
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || frame.url === '' || frame.url.startsWith('node:')) continue;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const rank = (map: Map<string, number>, limit: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, percent: Math.round((1000 * us) / busy) / 10 }));
  return {
    file: join(dir, file),
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    byArea: rank(areas, 12).map(({ name, percent }) => ({ area: name, percent })),
    topSelf: rank(self, top).map(({ name, percent }) => ({ frame: name, percent })),
    topInclusive: rank(inclusive, top + 10).map(({ name, percent }) => ({ frame: name, percent })),
  };
}

export function formatProfile(label: string, summary: ProfileSummary): string {
  const pct = (value: number) => `${value.toFixed(1).padStart(5)} %`;
  const lines = [
    `CPU profile of ${label}: ${summary.file}`,
    `  ${summary.busyMs} ms busy, ${summary.idleMs} ms idle (percentages of busy time)`,
    '  (wall-clock samples: a syscall frame such as writev also holds the time the process waited',
    '  for a core after waking its peer; the CPU ms split above says how much was really kernel)',
    '  self time by area:',
    ...summary.byArea.map((area) => `    ${pct(area.percent)}  ${area.area}`),
    '  top frames, self time:',
    ...summary.topSelf.map((frame) => `    ${pct(frame.percent)}  ${frame.frame}`),
    '  top application/library frames, inclusive time:',
    ...summary.topInclusive.map((frame) => `    ${pct(frame.percent)}  ${frame.frame}`),
  ];
  return lines.join('\n');
}
