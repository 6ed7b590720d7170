/**
 * The fault proxy's settings: which faults to apply to which requests, and their JSON form
 * (the control endpoint, the CLI), validated with a zod schema.
 */
import type { IncomingHttpHeaders } from 'node:http';
import * as z from 'zod';

/** What a fault predicate sees of a request. */
export interface ProxiedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Which requests a fault applies to. All conditions must hold: the request matches, it is
 * among the first `firstN` matching requests since the fault was set, and it wins the
 * `fraction` coin toss. `true` means every request.
 */
export interface FaultSelector {
  match?: (request: ProxiedRequest) => boolean;
  firstN?: number;
  /** Probability in [0, 1]; default 1. */
  fraction?: number;
}

export interface OutageFault {
  /** How long the outage lasts from the moment it is set; default: until cleared. */
  durationMs?: number;
  /** The Retry-After (seconds) on each 503; default 1; 0 sends none. */
  retryAfterSeconds?: number;
}

/** Faults to apply. In {@link FaultProxy.setFaults}, `false`/0 switches one off. */
export interface FaultSettings {
  /** Forward, let the upstream answer fully, then close the client socket without the answer. */
  lostResponse?: boolean | FaultSelector;
  /** Reset the client connection before forwarding: the upstream never sees the request. */
  reset?: boolean | FaultSelector;
  /** Wait this long before forwarding each request. */
  delayMs?: number;
  /** Answer 503 + Retry-After without forwarding, for a window of time. */
  outage?: false | OutageFault;
}

const nonNegative = z
  .number({ error: 'must be a non-negative number' })
  .min(0, 'must be a non-negative number');
const selector = z.union(
  [
    z.boolean(),
    z.strictObject({
      firstN: nonNegative.optional(),
      fraction: nonNegative.max(1, 'must be between 0 and 1').optional(),
    }),
  ],
  { error: 'must be true, false or {firstN?, fraction?}' },
);
const FAULT_NAMES = ['lostResponse', 'reset', 'delayMs', 'outage'];
const faultSettingsSchema = z.strictObject(
  {
    lostResponse: selector.optional(),
    reset: selector.optional(),
    delayMs: nonNegative.optional(),
    outage: z
      .union(
        [
          z.literal(false),
          z.strictObject({
            durationMs: nonNegative.optional(),
            retryAfterSeconds: nonNegative.optional(),
          }),
        ],
        { error: 'must be false or {durationMs?, retryAfterSeconds?}' },
      )
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown fault "${issue.keys.join('", "')}" (known: ${FAULT_NAMES.join(', ')})`
        : 'fault settings must be a JSON object',
  },
);

/**
 * Reads fault settings from JSON (the control endpoint, the CLI): the same shape as
 * {@link FaultSettings} without `match` predicates. Throws a readable error for a bad value,
 * naming the field.
 */
export function parseFaultSettings(json: unknown): FaultSettings {
  const parsed = faultSettingsSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const path = issue?.path.join('.');
  throw new Error(
    path ? `${path} ${issue?.message}` : (issue?.message ?? 'invalid fault settings'),
  );
}
