/**
 * The relay's settings, one copy for AWS (lib/ reads the timeout and schedule) and for the
 * local relay process (scripts/local/relay-process.ts), so local figures are the deployed ones.
 */
export const RELAY_SETTINGS = {
  /** Lambda timeout, and the local invocation's: one invocation drains for nearly all of it. */
  timeoutSeconds: 900,
  /** The schedule only makes sure a relay is running; a tick while one runs is throttled. */
  scheduleSeconds: 60,
  /** A throttled tick older than this is dropped instead of queued (async invoke max age). */
  maxEventAgeSeconds: 60,
  /** Stop starting rounds this long before the timeout: a send is bounded by the SDK timeouts. */
  stopMarginMs: 20_000,
  /** Idle polling: starts here after the outbox was found empty... */
  idlePollMinMs: 10,
  /** ...and doubles while it stays empty, up to this. */
  idlePollMaxMs: 50,
  /** Pause after a round in which the queue took nothing, doubling up to the max. */
  failureBackoffMinMs: 100,
  failureBackoffMaxMs: 2_000,
  /** Outbox rows read per round. */
  claimSize: 200,
  /** Concurrent senders; each customer belongs to one, so its events go out one batch at a time. */
  sendLanes: 8,
  /** The single-active-relay lease. */
  leaseTtlMs: 5_000,
  leaseRenewEveryMs: 1_000,
  leaseSafetyMs: 1_500,
  /** How often a relay without the lease checks whether it has lapsed. */
  standbyPollMs: 500,
  /** Slow start after a quiet or failing spell: half the rate, rising to the full rate. */
  warmUpSeconds: 3,
  /** Outbox lag and DLQ depth are reported this often while the relay runs. */
  healthReportEveryMs: 10_000,
  /** The event bus: idle polling bounds and the per-row retry backoff after a failed put. */
  busIdlePollMinMs: 50,
  busIdlePollMaxMs: 500,
  busRetryBaseMs: 250,
  busRetryMaxMs: 30_000,
} as const;

/** The shape of {@link RELAY_SETTINGS}, for code that takes (some of) them as a parameter. */
export type RelaySettings = { readonly [K in keyof typeof RELAY_SETTINGS]: number };

/** The single-active-relay lease's row in relay_lease. */
export const OUTBOX_RELAY_LEASE = 'outbox-relay';
