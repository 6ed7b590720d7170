import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../primitives/canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts the keys of every object, at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [{ z: 1, y: 2 }] } })).toBe(
      '{"a":{"c":[{"y":2,"z":1}],"d":2},"b":1}',
    );
  });

  it('gives bodies that differ only in key order and whitespace the same text', () => {
    const sent = JSON.parse('{ "currency": "EUR",\n "amount": 1000, "customerId": "c1" }');
    const again = JSON.parse('{"customerId":"c1","amount":1000,"currency":"EUR"}');
    expect(canonicalJson(sent)).toBe(canonicalJson(again));
  });

  it('keeps array order and tells different values apart', () => {
    expect(canonicalJson([2, 1])).toBe('[2,1]');
    expect(canonicalJson({ amount: 1000 })).not.toBe(canonicalJson({ amount: 1001 }));
  });
});
