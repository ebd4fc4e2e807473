export * from './events.js';
export { Journal, JOURNAL_BUSY_WAIT_MS, type AppendListener, type BacklogStatus, type Clock, type JournalOptions, type EventFilter as JournalFilter, type EventQuery } from './journal.js';
export { Outbox, isPriorityType, type Cursor } from './outbox.js';
