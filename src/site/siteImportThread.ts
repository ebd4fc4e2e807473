import type { Worker } from 'node:worker_threads';
import { GuardpostError, type ErrorCode } from '../errors.js';
import { startModuleWorker } from '../workerThread.js';
import type { ImportActor, ImportReport } from './siteImport.js';

/** What the import thread is given: the request's body as it came (moved, not copied). */
export interface ImportJob {
  readonly stateDir: string;
  readonly body: Buffer;
  readonly format: 'json' | 'yaml';
  readonly by: ImportActor;
  readonly dryRun: boolean;
  readonly nowMs: number;
}

/** What it says back: a commit as it happens, then the report or the error. */
export type ImportAnswer =
  | { readonly kind: 'step'; readonly step: 'wrote' | 'rules' }
  | { readonly kind: 'done'; readonly report: ImportReport }
  | { readonly kind: 'error'; readonly code: string; readonly message: string; readonly details: readonly string[] };

/**
 * Runs a whole-site import on a worker thread (site/siteImportWorker.ts) [SITE-IMPORT-SLICES]:
 * parsing a 32 MB body and checking 100,000 people takes seconds of CPU that would otherwise be
 * the gateway's event loop. `onStep` runs here after each of the thread's commits.
 */
export function importOnThread(job: ImportJob, onStep: (step: 'wrote' | 'rules') => void): Promise<ImportReport> {
  // A copy the thread owns: the request's buffer may be a slice of a pooled one.
  const body = new Uint8Array(job.body.byteLength);
  body.set(job.body);
  let worker: Worker;
  try {
    worker = startModuleWorker(import.meta.url, 'siteImportWorker', { ...job, body }, [body.buffer]);
  } catch (error) {
    return Promise.reject(new GuardpostError('GP_ERR_INTERNAL', `the import thread did not start: ${(error as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    worker.on('message', (answer: ImportAnswer) => {
      switch (answer.kind) {
        case 'step':
          if (!settled) onStep(answer.step);
          return;
        case 'done':
          return settle(() => resolve(answer.report));
        case 'error':
          return settle(() => reject(new GuardpostError(answer.code as ErrorCode, answer.message, [...answer.details])));
        default: {
          const unreachable: never = answer;
          return unreachable;
        }
      }
    });
    worker.on('error', (error) => settle(() => reject(new GuardpostError('GP_ERR_INTERNAL', `the import thread failed: ${error.message}`))));
    worker.on('exit', (code) => settle(() => reject(new GuardpostError('GP_ERR_INTERNAL', `the import thread stopped (exit code ${code}) before it finished; what it wrote is in the audit log`))));
  });
}
