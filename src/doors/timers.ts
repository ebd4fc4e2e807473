/** Timers behind an interface so services can be driven by a fake clock in tests. */
export interface Timers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs);
    // Timers never hold the process open on shutdown.
    handle.unref();
    return handle;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
