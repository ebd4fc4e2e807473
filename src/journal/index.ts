export * from './events.js';
export { Journal, type AppendListener, type Clock, type EventQuery } from './journal.js';
export { Outbox, isPriorityType, type Cursor } from './outbox.js';
