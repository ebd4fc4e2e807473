import { parentPort, workerData } from 'node:worker_threads';
import { parse as parseYaml } from 'yaml';
import { GuardpostError, isGuardpostError } from '../errors.js';
import { Store } from '../store/index.js';
import { BESIDE_A_GATEWAY } from './siteImport.js';
import type { ImportAnswer, ImportJob } from './siteImportThread.js';
import { SiteService, importSourceOf } from './siteService.js';

/**
 * The API's whole-site import on its own thread and its own connection [SITE-IMPORT-SLICES]:
 * paced as the CLI's beside a running gateway (short transactions, pauses between them), so the
 * gateway's writes get in; each commit is told to the gateway, which catches its index up.
 */
const job = workerData as Omit<ImportJob, 'body'> & { readonly body: Uint8Array };
const say = (answer: ImportAnswer) => parentPort!.postMessage(answer);

function parsed(): unknown {
  const text = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength).toString('utf8');
  try {
    return job.format === 'yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    // The reason without the parsers' excerpt of the text: a body holds card numbers and PINs
    // (newer V8 quotes the JSON around the fault; yaml draws the line after its first).
    const reason = (error as Error).message.split('\n')[0]!.replace(/, ".*" is not valid JSON$/, '');
    throw new GuardpostError('GP_ERR_BAD_REQUEST', `body is not valid ${job.format === 'yaml' ? 'YAML' : 'JSON'}: ${reason}`);
  }
}

let store: Store | undefined;
try {
  const raw = parsed();
  store = Store.open(job.stateDir);
  const service = new SiteService({ store, clock: () => job.nowMs, onChanged: () => undefined, changeCardholders: () => undefined });
  const report = service.importSite(importSourceOf(raw), job.by, job.dryRun, BESIDE_A_GATEWAY, (step) => say({ kind: 'step', step }));
  say({ kind: 'done', report });
} catch (error) {
  const known = isGuardpostError(error);
  say({ kind: 'error', code: known ? error.code : 'GP_ERR_INTERNAL', message: known ? error.message : `the import failed: ${(error as Error).message}`, details: known ? error.details : [] });
} finally {
  store?.close();
}
