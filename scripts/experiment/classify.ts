/**
 * What one failover did to each logical operation, from four facts the harness collects:
 * the charge ids each client was answered 201 with, the charges on the old primary's disk
 * (read after the kill), the charges on the promoted replica, and the charge ids the old
 * primary's relay published before it died.
 *
 * The old primary's *tail* is what it committed that the replica does not have. A failover
 * must decide what happens to it, and each choice has its own failure:
 * - **discard the tail** (a fenced failover: the old primary never serves again and is
 *   rewound, as pg_rewind or Aurora's resync of the old primary do): a charge in the tail
 *   that a client was told about is **lost**; one whose event the relay already published
 *   has moved money and, if the client's retry made another in the replica, is a **double**.
 * - **recover the tail** (the old primary's storage comes back and its outbox is drained,
 *   or its snapshot is replayed without reconciling by key): nothing acknowledged is lost,
 *   but a tail charge whose client retried in the replica is a **double**.
 */
export interface FailoverFacts {
  /** Logical operations: key → every charge id a 201 carried for it (normally one). */
  acknowledged: Map<string, string[]>;
  /** Old primary's disk after the kill: key → charge id. */
  oldPrimary: Map<string, string>;
  /** Promoted replica: key → charge ids (the unique key allows at most one). */
  promoted: Map<string, string[]>;
  /** Charge ids the old primary's relay published. */
  publishedByOldPrimary: Set<string>;
}

export interface PolicyOutcome {
  /** Logical operations with two or more distinct charges that took effect. */
  doubles: number;
  /** Logical operations whose client holds a 201 for a charge the surviving data lacks. */
  lost: number;
}

export interface FailoverClassification {
  operations: number;
  /** Operations that never got a 201 (the harness retries until they do: expected 0). */
  unanswered: number;
  /** Commits on the old primary missing from the replica. */
  tail: number;
  /** Of those, ones a client was answered 201 with. */
  tailAcknowledged: number;
  /** Of those, ones the old primary's relay published. */
  tailPublished: number;
  discardTail: PolicyOutcome;
  recoverTail: PolicyOutcome;
  /** The keys counted as doubles under either policy, for the report. */
  doubleKeys: string[];
}

export function classifyFailover(facts: FailoverFacts): FailoverClassification {
  const result: FailoverClassification = {
    operations: facts.acknowledged.size,
    unanswered: 0,
    tail: 0,
    tailAcknowledged: 0,
    tailPublished: 0,
    discardTail: { doubles: 0, lost: 0 },
    recoverTail: { doubles: 0, lost: 0 },
    doubleKeys: [],
  };
  const keys = new Set([...facts.acknowledged.keys(), ...facts.oldPrimary.keys()]);
  for (const key of keys) {
    const acks = new Set(facts.acknowledged.get(key) ?? []);
    const survivors = new Set(facts.promoted.get(key) ?? []);
    const onOldPrimary = facts.oldPrimary.get(key);
    const tail = onOldPrimary !== undefined && !survivors.has(onOldPrimary) ? onOldPrimary : null;
    if (facts.acknowledged.has(key) && acks.size === 0) result.unanswered++;
    if (tail !== null) {
      result.tail++;
      if (acks.has(tail)) result.tailAcknowledged++;
      if (facts.publishedByOldPrimary.has(tail)) result.tailPublished++;
    }

    // Discarded tail: what survives is the replica's charges, plus tail charges that escaped
    // the old primary before it died (told to a client, or published by its relay).
    const escapedTail =
      tail !== null && (acks.has(tail) || facts.publishedByOldPrimary.has(tail)) ? [tail] : [];
    const discarded = new Set([...survivors, ...escapedTail]);
    // Recovered tail: every charge ever committed takes effect.
    const recovered = new Set([...survivors, ...(tail !== null ? [tail] : [])]);

    const doubleIfDiscarded = discarded.size >= 2 || acks.size >= 2;
    const doubleIfRecovered = recovered.size >= 2 || acks.size >= 2;
    if (doubleIfDiscarded) result.discardTail.doubles++;
    if (doubleIfRecovered) result.recoverTail.doubles++;
    if (doubleIfDiscarded || doubleIfRecovered) result.doubleKeys.push(key);
    if ([...acks].some((id) => !survivors.has(id))) result.discardTail.lost++;
    if ([...acks].some((id) => !survivors.has(id) && id !== onOldPrimary)) {
      result.recoverTail.lost++;
    }
  }
  return result;
}
