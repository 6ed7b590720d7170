import { describe, expect, it } from 'vitest';
import { parseFailpoints } from '../../functions/commons/failpoints.ts';
import { problemFor } from '../../functions/commons/http/problem-responses.ts';
import { stagePrefixOf } from '../../functions/commons/http/responses.ts';
import {
  IdempotencyKeyReusedError,
  InvalidChargeRequestError,
} from '../../functions/domain/errors.ts';
import { parseApiKeys } from '../../scripts/local/api-keys.ts';

describe('LOCAL_API_KEYS', () => {
  it('maps each API key to its client', () => {
    expect([...parseApiKeys('k1:client-1, k2:client-2')]).toEqual([
      ['k1', 'client-1'],
      ['k2', 'client-2'],
    ]);
  });

  it.each(['nocolon', ':client', 'key:', 'k:a:b', 'k:a,k:b', ''])(
    'rejects "%s" with a readable error',
    (spec) => {
      expect(() => parseApiKeys(spec)).toThrow(/LOCAL_API_KEYS/);
    },
  );
});

describe('FAILPOINTS', () => {
  it('arms named failpoints, crash by default', () => {
    const armed = parseFailpoints('charge.after-commit, relay.after-publish=error');
    expect(armed.get('charge.after-commit')).toBe('crash');
    expect(armed.get('relay.after-publish')).toBe('error');
  });

  it('rejects unknown names and actions', () => {
    expect(() => parseFailpoints('charge.typo')).toThrow(/unknown failpoint/);
    expect(() => parseFailpoints('charge.after-commit=explode')).toThrow(/unknown action/);
  });
});

describe('problemFor', () => {
  it('maps a domain error to its status and names the bad fields', () => {
    const problem = problemFor(
      new InvalidChargeRequestError('bad', [{ field: 'amount', message: 'too small' }]),
    );
    expect(problem).toMatchObject({ status: 400, type: '/problems/invalid-charge-request' });
    expect(problem.errors).toEqual([{ field: 'amount', message: 'too small' }]);
  });

  it('maps key reuse to 422', () => {
    expect(problemFor(new IdempotencyKeyReusedError()).status).toBe(422);
  });

  it('hides the message of an unexpected error behind a 500', () => {
    const problem = problemFor(new Error('connection string postgres://secret@db'));
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem)).not.toContain('secret');
  });
});

describe('stagePrefixOf', () => {
  it('keeps the stage of an execute-api URL so Location resolves there', () => {
    expect(stagePrefixOf({ path: '/charge', requestContext: { path: '/v1/charge' } })).toBe('/v1');
  });

  it('is empty behind a custom domain or locally', () => {
    expect(stagePrefixOf({ path: '/charge', requestContext: { path: '/charge' } })).toBe('');
    expect(stagePrefixOf({ path: '/charge', requestContext: null })).toBe('');
  });
});
