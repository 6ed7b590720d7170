/** How long purged rows are kept; imported by the function and by the stack (no dependencies). */

const DAY_SECONDS = 86_400;

/**
 * How long an inbox row must outlive its first application: the longest an event id can
 * still reach the consumer again. A message applied and not deleted (the consumer died) can
 * stay in the charge queue up to its retention (14 days), then in the FIFO DLQ up to its own
 * (14 days; a FIFO DLQ restarts the clock), and after a redrive in the charge queue again
 * (14 days): 42 days, plus 3 days of margin. Past that SQS has dropped every copy.
 */
export const INBOX_RETENTION_SECONDS = 45 * DAY_SECONDS;
/**
 * Published outbox rows are never read again by the relay; they are kept a week to answer
 * "when was this event published?" during an investigation.
 */
export const PUBLISHED_OUTBOX_RETENTION_SECONDS = 7 * DAY_SECONDS;
