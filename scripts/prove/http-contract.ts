/**
 * A property-based fuzz of the HTTP contract (SPEC "HTTP contract"): fast-check arbitraries
 * of whole requests (method, path, raw header list with duplicates and odd casing, body
 * bytes), an oracle that says what the contract requires for each, a keep-alive sender, and
 * the checks that need more than one answer (same key, same client) or the database.
 *
 * The oracle is written from the contract, not from the handler's code; a unit test runs it
 * against the real request parser so the two cannot drift apart unnoticed.
 */

export {
  type ChargeRow,
  checkAnswer,
  checkCharges,
  type Exchange,
} from './http-contract/checks.ts';
export { type RequestArbitraryOptions, requestArbitrary } from './http-contract/generators.ts';
export {
  ambiguityOf,
  CHARGE_CURRENCIES,
  type ChargeBody,
  chargeBodyProblem,
  type Expectation,
  expectationOf,
  type FuzzAnswer,
  type FuzzClient,
  type FuzzRequest,
  type FuzzWorld,
  idempotencyKeyOf,
  isStorableText,
  MAX_BODY_BYTES,
} from './http-contract/oracle.ts';
export { createSender } from './http-contract/sender.ts';
