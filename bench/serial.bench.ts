/**
 * Serial benchmarks (issue 7), each beside a floor measured in the same run:
 *
 * 1. RDM6300 card frame written on a socat pseudo-terminal → strike command received by the
 *    strike's real mqtt.js client, against a bare write → read of the same 14 bytes over a second
 *    socat pair opened the same way (the floor: what the serial path costs before guardpost).
 *    Two valid cards alternate, so the repeat filter (one badge per card held in the field) never hides a read.
 * 2. OSDP poll cycle for 8 simulated readers on one bus at 115200 baud: the time between
 *    successive polls of the same reader, against the wire time of every byte of that cycle
 *    (10 bits per byte at the bus speed). Pseudo-terminals do not pace bytes at the baud rate,
 *    so the ratio shows guardpost's own overhead per cycle; on a real RS-485 line the wire time adds to it.
 *
 * Flags: --reads N (2000), --warmup N (200), --cycles N (300). Exits 0 whatever the figures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';
import { loadConfigFile } from '../src/config/load.js';
import { encodeRdm6300Frame } from '../src/drivers/rdm6300.js';
import { OsdpAcu } from '../src/drivers/osdp/acu.js';
import { Command } from '../src/drivers/osdp/messages.js';
import { startGateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { connectDevice, tempDir } from '../tests/support/gateway.js';
import { SimulatedPd } from '../tests/support/osdpPd.js';
import { DeviceEnd, SocatPair } from '../tests/support/socat.js';

const { values } = parseArgs({ options: { reads: { type: 'string', default: '2000' }, warmup: { type: 'string', default: '200' }, cycles: { type: 'string', default: '300' } } });
const READS = Number(values.reads);
const WARMUP = Number(values.warmup);
const CYCLES = Number(values.cycles);

const percentile = (samples: number[], p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const us = (ns: number): string => `${(ns / 1000).toFixed(0)} µs`;
const row = (name: string, samples: number[]): string => `${name.padEnd(44)} p50 ${us(percentile(samples, 50)).padStart(9)}   p99 ${us(percentile(samples, 99)).padStart(9)}`;

async function cardToStrike(): Promise<void> {
  const dir = tempDir('gp-bench-serial-');
  const gwPair = new SocatPair(dir, 'reader');
  const floorPair = new SocatPair(dir, 'floor');
  await Promise.all([gwPair.start(), floorPair.start()]);
  const siteFile = path.join(dir, 'site.yaml');
  fs.writeFileSync(siteFile, `
site: { id: bench, name: Bench, timezone: UTC }
devices:
  - { id: bench-reader, kind: reader, driver: rdm6300, bus: bench-bus }
  - { id: bench-strike, kind: strike }
doors: [{ id: bench-door, name: Bench door, reader: bench-reader, strike: bench-strike, unlockMs: 100 }]
groups: [{ id: all, name: All, doors: [bench-door] }]
cardholders:
  - { id: a, name: A, groups: [all], credentials: [{ card: "1001" }] }
  - { id: b, name: B, groups: [all], credentials: [{ card: "1002" }] }
`);
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(configFile, `demo: true\nsiteFile: ${JSON.stringify(siteFile)}\nlog: { level: silent }\nmqtt: { host: 127.0.0.1 }\nserial:\n  buses:\n    - { id: bench-bus, path: ${JSON.stringify(gwPair.gatewayPath)} }\n`);
  const gateway = await startGateway({ loaded: loadConfigFile(configFile, { stateDir: dir, httpPort: 0, mqttPort: 0 }), logger: createLogger('silent') });
  const strike = await connectDevice(`mqtt://127.0.0.1:${gateway.mqttPort}`, 'bench-strike');
  const reader = await DeviceEnd.open(gwPair.devicePath);
  const floorWriter = await DeviceEnd.open(floorPair.devicePath);
  const floorReader = new SerialPort({ path: floorPair.gatewayPath, baudRate: 9600 });
  await new Promise<void>((resolve) => floorReader.once('open', () => resolve()));
  const frames = [encodeRdm6300Frame(1, 1001), encodeRdm6300Frame(1, 1002)];

  const badge: number[] = [];
  const floor: number[] = [];
  let pending: (() => void) | undefined;
  strike.client.on('message', () => pending?.());
  let floorBytes = 0;
  floorReader.on('data', (chunk: Buffer) => {
    floorBytes += chunk.length;
    if (floorBytes >= 14) {
      floorBytes -= 14;
      pending?.();
    }
  });
  const once = async (write: () => Promise<void>): Promise<number> => {
    const arrived = new Promise<void>((resolve) => (pending = resolve));
    const start = process.hrtime.bigint();
    await write();
    await arrived;
    return Number(process.hrtime.bigint() - start);
  };
  for (let i = 0; i < WARMUP + READS; i++) {
    const frame = frames[i % 2]!;
    const a = await once(() => reader.write(frame));
    const b = await once(() => floorWriter.write(frame));
    if (i >= WARMUP) {
      badge.push(a);
      floor.push(b);
    }
  }
  console.log(row('RDM6300 frame → strike command (MQTT)', badge));
  console.log(row('bare write → read, same bytes (floor)', floor));
  console.log(`ratio p50 ${(percentile(badge, 50) / percentile(floor, 50)).toFixed(2)}, p99 ${(percentile(badge, 99) / percentile(floor, 99)).toFixed(2)}`);
  await strike.end();
  await Promise.all([reader.close(), floorWriter.close(), new Promise<void>((resolve) => floorReader.close(() => resolve()))]);
  await gateway.stop();
  await Promise.all([gwPair.stop(), floorPair.stop()]);
}

async function osdpPollCycle(secure: boolean): Promise<void> {
  const BAUD = 115_200;
  const dir = tempDir('gp-bench-osdp-');
  const pair = new SocatPair(dir, 'osdp');
  await pair.start();
  const bus = await DeviceEnd.open(pair.devicePath, BAUD);
  const panel = new SerialPort({ path: pair.gatewayPath, baudRate: BAUD });
  await new Promise<void>((resolve) => panel.once('open', () => resolve()));
  const addresses = [0, 1, 2, 3, 4, 5, 6, 7];
  let wireBytes = 0;
  const pds = addresses.map((address) => new SimulatedPd(address, (bytes) => {
    wireBytes += bytes.length;
    bus.port.write(Buffer.from(bytes));
  }));
  // Secure Channel: every poll and reply MACed (AES-128 CBC-MAC), each reader with its own key.
  const keys = addresses.map((address) => Buffer.alloc(16, address + 1));
  if (secure) pds.forEach((pd, index) => (pd.scbk = keys[index]));
  bus.port.on('data', (bytes: Buffer) => {
    for (const pd of pds) pd.hear(bytes);
  });
  const cycles: number[] = [];
  const cycleBytes: number[] = [];
  let last: bigint | undefined;
  let bytesAtLast = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const acu = new OsdpAcu({
    addresses,
    ...(secure ? { secure: new Map(addresses.map((address, index) => [address, { mode: 'enforce' as const, scbk: keys[index]! }])) } : {}),
    clock: Date.now,
    write: (bytes, sent) => {
      wireBytes += bytes.length;
      // A POLL to address 0: byte 5 is the command code, or the code after a 2-byte security block.
      if (bytes[1] === 0 && (bytes[5] === Command.POLL || ((bytes[4]! & 0x08) !== 0 && bytes[5 + bytes[5]!] === Command.POLL))) {
        const now = process.hrtime.bigint();
        if (last !== undefined) {
          cycles.push(Number(now - last));
          cycleBytes.push(wireBytes - bytesAtLast);
        }
        last = now;
        bytesAtLast = wireBytes;
        if (cycles.length >= CYCLES + 20) done();
      }
      panel.write(Buffer.from(bytes), () => sent());
    },
    events: { signal: () => undefined, badInput: (address, code, message) => console.error(`bad input from ${address}: ${code} ${message}`), online: () => undefined, offline: () => undefined },
  });
  panel.on('data', (bytes: Buffer) => acu.receive(bytes));
  acu.start();
  await finished;
  acu.stop('bench over');
  const measured = cycles.slice(20);
  const bytesPerCycle = percentile(cycleBytes.slice(20), 50);
  const wireNs = (bytesPerCycle * 10 * 1e9) / BAUD;
  console.log(row(`OSDP poll cycle, 8 readers${secure ? ', Secure Channel' : ''}`, measured));
  console.log(`${`wire time of the cycle at 115200 baud (floor)`.padEnd(44)} ${us(wireNs).padStart(13)}   (${bytesPerCycle} bytes)`);
  console.log(`measured p50 / wire time ${(percentile(measured, 50) / wireNs).toFixed(2)}`);
  await bus.close();
  await new Promise<void>((resolve) => panel.close(() => resolve()));
  await pair.stop();
}

await cardToStrike();
await osdpPollCycle(false);
await osdpPollCycle(true);
