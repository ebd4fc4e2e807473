import type { Migration } from './types.js';

/**
 * One durable cursor per forwarder destination: the journal is the outbox, so a destination's
 * whole queue is "every event after last_seq". priority_seq is the last alarm-class event the
 * priority lane delivered ahead of the backlog (the main lane skips those up to it).
 */
export const forwarderCursors: Migration = {
  version: 4,
  name: 'forwarder cursors, journal indexes by cardholder and alarm',
  sql: `
    CREATE TABLE forwarder_cursors (
      destination TEXT PRIMARY KEY,
      last_seq INTEGER NOT NULL DEFAULT 0,
      priority_seq INTEGER NOT NULL DEFAULT 0,
      updated_ms INTEGER NOT NULL
    );
    -- Journal queries by cardholder and by alarm (incident reports) without a scan.
    CREATE INDEX events_cardholder ON events (cardholder, seq) WHERE cardholder IS NOT NULL;
    CREATE INDEX events_alarm ON events (json_extract(data, '$.alarm'), seq) WHERE json_extract(data, '$.alarm') IS NOT NULL;
  `,
};
