import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CardIndex, credentialKey } from '../access/cardIndex.js';
import type { IndexArray } from '../access/keyTable.js';
import type { CardholderRulesRepository } from '../store/accessRules.js';
import type { CardholdersRepository } from '../store/cardholders.js';
import type { Db } from '../store/db.js';

/**
 * Reads every cardholder and credential into a compact index, row by row without an object per
 * row, in one read transaction with the generation it reflects [ACC-INDEX].
 */
export function scanCardIndexFrom(db: Db, cardholders: CardholdersRepository, rules: CardholderRulesRepository): CardIndex {
  let cards: CardIndex | undefined;
  db.transaction(() => {
    const generation = cardholders.generation();
    cards = new CardIndex(cardholders.sizesForIndex());
    const index = cards;
    const escorts = new Map(rules.listEscorts().map((escort) => [escort.cardholderId, { groupIds: escort.groupIds, windowMs: escort.windowMs }]));
    const noGroups: readonly string[] = [];
    cardholders.scanForIndex(
      (id, status, groups, pinDigest, duressDigest) => index.putCardholder({ id, status, groupIds: groups === null ? noGroups : groups.split(','), pinDigest, duressPinDigest: duressDigest, escort: escorts.get(id) ?? null }),
      (id, cardholderId, kind, number, status, validFromMs, validUntilMs) => index.putCredentialFields(id, cardholderId, kind, kind === 'card' ? credentialKey({ kind: 'card', number }) : number, status, validFromMs, validUntilMs),
    );
    index.trim();
    index.generation = generation;
  })();
  return cards as CardIndex;
}

/** What the worker posts back: the index as an image (its arrays' buffers transferred, not copied). */
export interface ScannedImage {
  readonly arrays: [string, IndexArray][];
  readonly scalars: Record<string, unknown>;
  readonly generation: number | null;
}

/**
 * The same full read on a worker thread with its own read-only connection, so a full read while
 * the gateway runs never stalls decisions [ACC-INDEX]: the live index keeps deciding until this
 * one is ready. Runs the compiled worker from dist/, or the TypeScript one through tsx under tests.
 */
export function scanCardIndexInWorker(databaseFile: string): Promise<CardIndex> {
  const typescript = import.meta.url.endsWith('.ts');
  const entry = new URL(`./cardIndexWorker.${typescript ? 'ts' : 'js'}`, import.meta.url);
  // Under tests the sources are TypeScript: the worker loads its entry through tsx (a dev dependency).
  const worker = typescript
    ? new Worker(`const { workerData } = require('node:worker_threads'); import(workerData.tsx).then((tsx) => tsx.tsImport(workerData.entry, workerData.entry));`, {
        eval: true,
        workerData: { databaseFile, entry: entry.href, tsx: new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href },
      })
    : new Worker(entry, { workerData: { databaseFile } });
  return new Promise((resolve, reject) => {
    worker.once('message', (message: ScannedImage | { error: string }) => {
      void worker.terminate();
      if ('error' in message) return reject(new Error(message.error));
      try {
        const cards = CardIndex.fromImage({ arrays: new Map(message.arrays), scalars: message.scalars });
        cards.generation = message.generation;
        resolve(cards);
      } catch (error) {
        reject(error as Error);
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the card index worker exited with ${code} before it answered`)));
  });
}
