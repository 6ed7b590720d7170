/**
 * ISO 4217 codes this service accepts. An allow-list, not the full standard: every
 * currency here has two minor units, so `amount` means the same thing for all of them.
 */
export const SUPPORTED_CURRENCIES = [
  'AUD',
  'CAD',
  'CHF',
  'CNY',
  'CZK',
  'DKK',
  'EUR',
  'GBP',
  'HKD',
  'NOK',
  'NZD',
  'PLN',
  'SEK',
  'SGD',
  'USD',
] as const;
/** One of {@link SUPPORTED_CURRENCIES}. */
export type Currency = (typeof SUPPORTED_CURRENCIES)[number];
