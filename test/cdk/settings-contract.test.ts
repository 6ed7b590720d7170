import { describe, expect, it } from 'vitest';
import { type FunctionKind, parseSettings, SETTINGS } from '../../functions/commons/settings.ts';
import { FUNCTION_NAMES } from '../../lib/config.ts';
import { resourceNamed, synthPayments } from './support/synth-payments.ts';

const { statelessTemplate: template } = synthPayments();
const { statelessTemplate: hotTierTemplate } = synthPayments({ hotTier: true });

const pascalCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_, _dash: string, letter: string) => letter.toUpperCase());

/** The environment CDK gives function `name`, as text. */
function deployedEnvironment(name: string, source = template): Record<string, string> {
  const [, fn] = resourceNamed(source, 'AWS::Lambda::Function', `${pascalCase(name)}Function`);
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [key, deployTimeText(value)]),
  );
}

/** The text a value will have at deploy time: joins kept, every reference read as `token`. */
function deployTimeText(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(deployTimeText).join(join[0]);
  return 'token';
}

describe('the configuration contract in the templates', () => {
  it('has settings for every function the stacks deploy', () => {
    expect([...FUNCTION_NAMES].sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  for (const variant of [
    { name: 'default', source: template },
    { name: 'hot tier', source: hotTierTemplate },
  ]) {
    it(`gives every function a configuration its own init accepts (${variant.name})`, () => {
      for (const name of FUNCTION_NAMES) {
        const env = deployedEnvironment(name, variant.source);
        expect(() => parseSettings(name as FunctionKind, env), name).not.toThrow();
      }
    });
  }

  it('switches the hot tier and the event bus on explicitly', () => {
    expect(parseSettings('charge', deployedEnvironment('charge')).IDEMPOTENCY_CACHE).toBe('none');
    expect(
      parseSettings('charge', deployedEnvironment('charge', hotTierTemplate)).IDEMPOTENCY_CACHE,
    ).toBe('redis');
    expect(parseSettings('relay', deployedEnvironment('relay')).PUBLISH_TO_EVENT_BUS).toBe('true');
  });
});
