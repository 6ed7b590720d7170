/**
 * `npm run charge -- --amount 1000 --currency EUR --customer c1`: one logical charge through
 * the retrying client, against the local stack by default. Prints the result (or the
 * error) as JSON on stdout; with --transcript, one JSON line per attempt on stderr.
 * Exit codes: 0 = 2xx, 1 = any other answer or no answer, 2 = bad command line.
 */
import { parseArgs } from 'node:util';
import { ChargeClient, ChargeClientError, type ChargeInput } from '../client/index.ts';

const USAGE = `usage: npm run charge -- --amount MINOR_UNITS --currency CODE --customer ID [options]
  --description TEXT   description of the charge
  --url URL            API base URL (default http://127.0.0.1:3000)
  --api-key KEY        x-api-key (default local-dev-key)
  --key KEY            Idempotency-Key (default: a new UUID); reuse one to retry a charge
  --attempts N         attempts including the first (default 3)
  --transcript         write one JSON line per attempt to stderr
  -h, --help           show this help`;

class UsageError extends Error {}

interface CliArguments {
  input: ChargeInput;
  url: string;
  apiKey: string;
  key: string | undefined;
  attempts: number;
  transcript: boolean;
}

function parseCommandLine(argv: string[]): CliArguments | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        amount: { type: 'string' },
        currency: { type: 'string' },
        customer: { type: 'string' },
        description: { type: 'string' },
        url: { type: 'string', default: 'http://127.0.0.1:3000' },
        'api-key': { type: 'string', default: 'local-dev-key' },
        key: { type: 'string' },
        attempts: { type: 'string', default: '3' },
        transcript: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const required = (name: string): string => {
    const value = text(name);
    if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
    return value;
  };

  const amountText = required('amount');
  if (!/^\d+$/.test(amountText) || !Number.isSafeInteger(Number(amountText))) {
    throw new UsageError(
      `--amount must be a whole number of minor units (e.g. 1000 = 10.00 EUR), got "${amountText}"`,
    );
  }
  const attemptsText = required('attempts');
  const attempts = Number(attemptsText);
  if (!/^\d+$/.test(attemptsText) || attempts < 1 || attempts > 100) {
    throw new UsageError(`--attempts must be a whole number from 1 to 100, got "${attemptsText}"`);
  }
  const url = required('url');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  }
  const key = text('key');
  if (key !== undefined && !/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new UsageError('--key must be 1-255 visible ASCII characters (no spaces)');
  }
  const description = text('description');
  return {
    input: {
      amount: Number(amountText),
      currency: required('currency'),
      customerId: required('customer'),
      ...(description === undefined ? {} : { description }),
    },
    url,
    apiKey: required('api-key'),
    key,
    attempts,
    transcript: values.transcript === true,
  };
}

async function main(argv: string[]): Promise<number> {
  let args: CliArguments | 'help';
  try {
    args = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`charge: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const client = new ChargeClient({
    baseUrl: args.url,
    apiKey: args.apiKey,
    maxAttempts: args.attempts,
    ...(args.transcript ? { transcript: process.stderr } : {}),
  });
  try {
    const result = await client.createCharge(
      args.input,
      args.key === undefined ? {} : { idempotencyKey: args.key },
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  } catch (error) {
    if (!(error instanceof ChargeClientError)) throw error;
    const report = {
      error: error.name,
      message: error.message,
      idempotencyKey: error.idempotencyKey,
      attempts: error.attempts,
      ...(error.lastStatus === undefined ? {} : { lastStatus: error.lastStatus }),
      hint: `the outcome is unknown: run again with --key ${error.idempotencyKey}`,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Not a usage error and not a charge outcome: a bug. Say so in one line, not a stack.
    process.stderr.write(
      `charge: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
