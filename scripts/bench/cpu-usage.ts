import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';

/**
 * CPU accounting from /proc (Linux; everything is undefined elsewhere): how many CPU
 * milliseconds the API process, the PostgreSQL server and this bench process spent during a
 * measurement, and how busy the whole machine was, so that a result can say where the cores
 * went and how much of them other work on the machine took.
 */

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface ProcTimes {
  /** utime + stime of the process itself. */
  own: number;
  /** stime alone: time in the kernel (syscalls: socket and pipe writes). */
  system: number;
  /** cutime + cstime: its reaped children. */
  children: number;
  ppid: number;
}

function procTimes(pid: number): ProcTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const at = (field: number) => Number(fields[field - 3]);
    return {
      own: (at(14) + at(15)) * TICK_MS,
      system: at(15) * TICK_MS,
      children: (at(16) + at(17)) * TICK_MS,
      ppid: at(4),
    };
  } catch {
    return undefined;
  }
}

/** CPU ms of one process so far. */
export function processCpuMs(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : procTimes(pid)?.own;
}

/** The postmaster of the server behind `pool`, if it runs on this machine. */
export async function postmasterPid(pool: pg.Pool): Promise<number | undefined> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const backend = rows[0]?.pid;
  return backend === undefined ? undefined : procTimes(backend)?.ppid;
}

/** CPU ms of a PostgreSQL server so far: the postmaster, its exited and its live children. */
export function postgresCpuMs(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  const root = procTimes(postmaster);
  if (!root) return undefined;
  let total = root.own + root.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const times = procTimes(Number(entry));
    if (times?.ppid === postmaster) total += times.own;
  }
  return total;
}

/** Busy CPU ms of the whole machine so far (all cores). */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...values] = line.trim().split(/\s+/);
    const ticks = values.map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) * TICK_MS;
  } catch {
    return undefined;
  }
}

export interface CpuSplit {
  /** CPU ms per unit of work (a charge) in each place. */
  apiMsPerOp: number | null;
  postgresMsPerOp: number | null;
  benchMsPerOp: number | null;
  /** The part of the API's CPU spent in the kernel (0..1). */
  apiKernelShare: number | null;
  /** CPU ms per op spent by everything else on the machine (other users' work: noise). */
  otherMsPerOp: number | null;
  /** Share of the machine's cores that were busy, 0..1. */
  machineBusy: number | null;
  /** Share of the machine's cores taken by work that is not ours, 0..1: above ~0.1 the run was disturbed. */
  otherShare: number | null;
}

/** Starts a measurement; the returned function ends it and divides by `ops`. */
export function startCpuMeasurement(pids: { api?: number; postmaster?: number }) {
  const wall = performance.now();
  const before = {
    api: processCpuMs(pids.api),
    apiSystem: pids.api === undefined ? undefined : procTimes(pids.api)?.system,
    postgres: postgresCpuMs(pids.postmaster),
    bench: process.cpuUsage(),
    machine: machineBusyMs(),
  };
  return (ops: number, cores: number): CpuSplit => {
    const wallMs = performance.now() - wall;
    const delta = (after: number | undefined, start: number | undefined) =>
      after === undefined || start === undefined ? undefined : after - start;
    const api = delta(processCpuMs(pids.api), before.api);
    const apiSystem = delta(
      pids.api === undefined ? undefined : procTimes(pids.api)?.system,
      before.apiSystem,
    );
    const postgres = delta(postgresCpuMs(pids.postmaster), before.postgres);
    const benchUsage = process.cpuUsage(before.bench);
    const bench = (benchUsage.user + benchUsage.system) / 1000;
    const machine = delta(machineBusyMs(), before.machine);
    const per = (value: number | undefined) =>
      value === undefined || ops === 0 ? null : Math.round((value / ops) * 1000) / 1000;
    const other =
      machine === undefined ? undefined : machine - (api ?? 0) - (postgres ?? 0) - bench;
    return {
      apiMsPerOp: per(api),
      postgresMsPerOp: per(postgres),
      benchMsPerOp: per(bench),
      apiKernelShare:
        api === undefined || apiSystem === undefined || api === 0
          ? null
          : Math.round((apiSystem / api) * 100) / 100,
      otherMsPerOp: per(other === undefined ? undefined : Math.max(0, other)),
      machineBusy:
        machine === undefined ? null : Math.round((machine / (wallMs * cores)) * 1000) / 1000,
      otherShare:
        other === undefined
          ? null
          : Math.round((Math.max(0, other) / (wallMs * cores)) * 1000) / 1000,
    };
  };
}
