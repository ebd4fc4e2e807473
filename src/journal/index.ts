export * from './events.js';
export { Journal, type AppendListener, type Clock, type EventFilter as JournalFilter, type EventQuery } from './journal.js';
export { Outbox, isPriorityType, type Cursor } from './outbox.js';
