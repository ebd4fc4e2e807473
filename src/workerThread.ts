import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type Transferable } from 'node:worker_threads';

/**
 * Starts a worker thread on a sibling module of `from` (an `import.meta.url`): the compiled
 * `name.js` under dist/, or the TypeScript `name.ts` through tsx (a dev dependency) under tests.
 */
export function startModuleWorker(from: string, name: string, workerData: unknown, transferList: Transferable[] = []): Worker {
  const typescript = from.endsWith('.ts');
  const entry = new URL(`./${name}.${typescript ? 'ts' : 'js'}`, from);
  if (!typescript) return new Worker(entry, { workerData, transferList });
  const tsx = new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  return new Worker(
    `const { workerData } = require('node:worker_threads'); import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}));`,
    { eval: true, workerData, transferList },
  );
}
