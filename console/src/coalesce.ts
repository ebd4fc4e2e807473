// Pure: no DOM, so the Node tests can check it too.

/**
 * Wraps a reload so that a burst of calls costs at most two requests: one runs, and calls made
 * while it runs ask for one more run after it. Unlike dropping calls while a request is in flight,
 * the last answer is never older than the last call (an event that arrived mid-request is seen).
 */
export function coalesce(load: () => Promise<void>, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): Promise<void> => {
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await load();
        } catch (error) {
          onError(error);
        }
      } while (again);
      running = null;
    })();
    return running;
  };
  return run;
}
