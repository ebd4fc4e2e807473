/** What every bench shares: the real gateway as a child process, and latency tables. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { SiteData } from '../src/config/siteSchema.js';

export const repoRoot = path.resolve(import.meta.dirname, '..');

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly mqttPort: number;
  readonly httpPort: number;
}

let built = false;

/** The gateway as `npm start` runs it: compiled by tsc into dist/, run by plain node (no tsx loader). */
function compiledMain(): string {
  if (!built) {
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json')], { cwd: repoRoot, stdio: 'inherit' });
    built = true;
  }
  return path.join(repoRoot, 'dist/main.js');
}

/**
 * `guardpost start` on ephemeral ports; resolves with the ports it logs once it is running.
 * `nodeArgs` go to node before the script (`--cpu-prof`, `--trace-gc`) for profiling a bench.
 */
export async function startGatewayProcess(configFile: string, stateDir: string, nodeArgs: readonly string[] = [], options: { readonly cpus?: string } = {}): Promise<GatewayProcess> {
  const command = [process.execPath, ...nodeArgs, compiledMain(), 'start', '--config', configFile, '--state-dir', stateDir, '--http-port', '0', '--mqtt-port', '0'];
  // `cpus` pins the gateway (every thread) to those CPUs, as `taskset -c` reads them.
  const pinned = options.cpus === undefined ? command : ['taskset', '-c', options.cpus, ...command];
  const child = spawn(pinned[0]!, pinned.slice(1), {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ports = await new Promise<{ mqttPort: number; httpPort: number }>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const mqtt = /"mqtt":"mqtt:\/\/[^"]*:(\d+)"/.exec(buffer);
      const http = /"http":"http:\/\/[^"]*:(\d+)"/.exec(buffer);
      if (mqtt !== null && http !== null && buffer.includes('guardpost is running')) resolve({ mqttPort: Number(mqtt[1]), httpPort: Number(http[1]) });
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited with ${code} before it was running`)));
  });
  child.stdout?.resume();
  return { child, ...ports };
}

export async function stopGatewayProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles of nanosecond samples, in microseconds. */
export function summarise(samples: readonly bigint[]): Summary {
  const us = samples.map((ns) => Number(ns) / 1_000).sort((a, b) => a - b);
  const rank = (p: number): number => us[Math.min(us.length - 1, Math.max(0, Math.ceil((p / 100) * us.length) - 1))] ?? Number.NaN;
  return { n: us.length, p50: rank(50), p90: rank(90), p99: rank(99), max: us[us.length - 1] ?? Number.NaN };
}

export function latencyTable(rows: readonly (readonly [string, Summary])[]): string {
  const header = ['', 'n', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs'];
  const body = rows.map(([name, s]) => [name, String(s.n), ...[s.p50, s.p90, s.p99, s.max].map((v) => v.toFixed(1))]);
  const widths = header.map((h, column) => Math.max(h.length, ...body.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** A bench site's doors: `door-i` with a JSON reader `reader-i` and strike `strike-i`, card mode. */
export function benchDoors(count: number): Pick<SiteData, 'devices' | 'doors'> {
  return {
    devices: Array.from({ length: count }, (_, i) => [
      { id: `reader-${i}`, kind: 'reader' as const, driver: 'json' as const },
      { id: `strike-${i}`, kind: 'strike' as const, driver: 'json' as const },
    ]).flat(),
    doors: Array.from({ length: count }, (_, i) => ({ id: `door-${i}`, name: `Door ${i}`, reader: `reader-${i}`, strike: `strike-${i}`, unlockMs: 5000, mode: 'card' as const, failMode: 'fail-secure' as const, heldOpenMs: 30_000, preAlarmMs: 10_000, rexUnlocks: true })),
  };
}
