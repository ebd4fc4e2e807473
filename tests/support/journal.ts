import type { Journal, JournalEvent } from '../../src/journal/index.js';

/**
 * Resolves with the first journal event after sequence `afterSeq` that matches: one already
 * written, or the next one appended. Awaits the append; never polls.
 */
export function nextJournalEvent(journal: Journal, match: (event: JournalEvent) => boolean, afterSeq = 0, timeoutMs = 5_000): Promise<JournalEvent> {
  const seen = journal.query({ afterSeq, limit: 10_000 }).find(match);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching journal event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = journal.onAppend((event) => {
      if (event.seq <= afterSeq || !match(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}
