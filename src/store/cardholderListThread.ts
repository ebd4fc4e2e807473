import type { Worker } from 'node:worker_threads';
import { GuardpostError, type ErrorCode } from '../errors.js';
import { startModuleWorker } from '../workerThread.js';
import type { CardholderListQuery } from './cardholderList.js';

export interface ListAsk {
  readonly id: number;
  readonly query: CardholderListQuery;
}

export type ListAnswer =
  | { readonly id: number; readonly ok: true; readonly json: string[]; readonly total: number; readonly next?: string }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string; readonly details: readonly string[] };

type Page = { json: string[]; total: number; next?: string };

/**
 * Asks the cardholder list's thread (cardholderListWorker.ts) for a page [SITE-LIST]. Started on
 * the first question; a thread that dies fails the questions it held and is started again on
 * the next one.
 */
export class CardholderListThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (page: Page) => void; reject: (error: Error) => void }>();
  private stopped = false;

  constructor(private readonly stateDir: string) {}

  page(query: CardholderListQuery): Promise<Page> {
    if (this.stopped) return Promise.reject(new GuardpostError('GP_ERR_NOT_READY', 'the gateway is stopping'));
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, query } satisfies ListAsk);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = startModuleWorker(import.meta.url, 'cardholderListWorker', { stateDir: this.stateDir });
    worker.unref();
    worker.on('message', (answer: ListAnswer) => {
      const waiter = this.waiting.get(answer.id);
      if (waiter === undefined) return;
      this.waiting.delete(answer.id);
      if (answer.ok) waiter.resolve({ json: answer.json, total: answer.total, ...(answer.next === undefined ? {} : { next: answer.next }) });
      else waiter.reject(new GuardpostError(answer.code as ErrorCode, answer.message, answer.details));
    });
    const failAll = (why: string) => {
      if (this.worker === worker) this.worker = null;
      for (const [id, waiter] of this.waiting) {
        this.waiting.delete(id);
        waiter.reject(new GuardpostError('GP_ERR_INTERNAL', `the cardholder list's thread ${why}`));
      }
    };
    worker.on('error', (error) => failAll(`failed: ${error.message}`));
    worker.on('exit', (code) => failAll(`stopped (exit code ${code})`));
    this.worker = worker;
    return worker;
  }
}
