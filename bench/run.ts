/**
 * `npm run bench`: runs every `bench/*.bench.ts` in name order, each in its own process so one
 * cannot warm or slow another. `npm run bench -- badge --reads 2000` runs one bench with its flags. Each prints its own
 * table against a floor measured in the same run. Exits non-zero only if a bench itself failed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
// Names come first, then everything from the first flag on belongs to the bench.
const args = process.argv.slice(2);
const firstFlag = args.findIndex((arg) => arg.startsWith('-'));
const only = firstFlag === -1 ? args : args.slice(0, firstFlag);
const flags = firstFlag === -1 ? [] : args.slice(firstFlag);
const benches = fs
  .readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => only.length === 0 || only.some((name) => file.startsWith(name)))
  .sort();

let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file}`);
  // Flags belong to one bench: they are passed only when a single bench is named.
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, file), ...(benches.length === 1 ? flags : [])], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
