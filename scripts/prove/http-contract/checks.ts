/**
 * The fuzz's checks that need more than one answer (same key, same client) or the database:
 * each answer against its expectation, and the charges table against what was sent.
 */
import { canonicalJson } from '../../../primitives/canonical-json.ts';
import type { Expectation, FuzzAnswer, FuzzRequest, FuzzWorld } from './oracle.ts';

export interface Exchange {
  request: FuzzRequest;
  expectation: Expectation;
  answer: FuzzAnswer;
}

/** What is wrong with one answer on its own; undefined when nothing is. */
export function checkAnswer(exchange: Exchange): string | undefined {
  const { expectation, answer } = exchange;
  if (answer.status >= 500) return `answered ${answer.status}`;
  const isProblem = String(answer.headers['content-type'] ?? '').startsWith(
    'application/problem+json',
  );
  if (answer.status >= 400) {
    if (!isProblem) return `error ${answer.status} is not application/problem+json`;
    try {
      const problem = JSON.parse(answer.text) as { status?: unknown; type?: unknown };
      if (problem.status !== answer.status || typeof problem.type !== 'string') {
        return `problem body does not name status ${answer.status}`;
      }
    } catch {
      return 'problem body is not JSON';
    }
  }
  switch (expectation.kind) {
    case 'status':
      return answer.status === expectation.status
        ? undefined
        : `expected ${expectation.status} (${expectation.reason}), got ${answer.status}`;
    case 'get': {
      if (answer.status !== expectation.status) {
        return `GET expected ${expectation.status}, got ${answer.status}`;
      }
      if (
        answer.status === 200 &&
        (JSON.parse(answer.text) as { id?: unknown }).id !== expectation.id
      ) {
        return `GET returned another charge than ${expectation.id}`;
      }
      return undefined;
    }
    case 'charge':
      return [201, 409, 422].includes(answer.status)
        ? undefined
        : `a valid charge request answered ${answer.status}`;
  }
}

export interface ChargeRow {
  id: string;
  client_id: string;
  idempotency_key: string;
  amount: string;
  currency: string;
  customer_id: string;
  description: string | null;
}

/**
 * The checks across answers and against the charges table: per (client, key), every 201
 * carries one charge, made from a body that was sent validly under that key by that client;
 * a body other than the charged one is never answered 201; no charge exists for a key that
 * never had a valid request; no answer hands a client another client's charge.
 */
export function checkCharges(exchanges: Exchange[], rows: ChargeRow[], world: FuzzWorld): string[] {
  const problems: string[] = [];
  const groups = new Map<string, Exchange[]>();
  for (const exchange of exchanges) {
    if (exchange.expectation.kind !== 'charge') continue;
    const id = `${exchange.expectation.clientId}\u0000${exchange.expectation.key}`;
    groups.set(id, [...(groups.get(id) ?? []), exchange]);
  }
  const byId = new Map(rows.map((row) => [row.id, row]));
  const byGroup = new Map(rows.map((row) => [`${row.client_id}\u0000${row.idempotency_key}`, row]));
  const seededIds = new Set(world.seeded.map((charge) => charge.id));

  for (const [group, members] of groups) {
    const [clientId, key] = group.split('\u0000') as [string, string];
    const row = byGroup.get(group);
    const created = members.filter((member) => member.answer.status === 201);
    if (!row) {
      if (created.length > 0)
        problems.push(`${clientId}/${key}: answered 201 but no charge exists`);
      continue;
    }
    const charged = canonicalJson({
      amount: Number(row.amount),
      currency: row.currency.trim(),
      customerId: row.customer_id,
      ...(row.description === null ? {} : { description: row.description }),
    });
    const seededBody = world.seeded.find((charge) => charge.id === row.id)?.body;
    const sentBodies = new Set(
      members.map((member) =>
        member.expectation.kind === 'charge' ? member.expectation.canonical : '',
      ),
    );
    if (seededBody) sentBodies.add(canonicalJson(seededBody));
    if (!sentBodies.has(charged)) {
      problems.push(
        `${clientId}/${key}: charge ${row.id} matches no body sent under this key: ${charged} vs ${[...sentBodies].join(' | ')}`,
      );
    }
    for (const member of created) {
      const answerId = (JSON.parse(member.answer.text) as { id?: unknown }).id;
      if (answerId !== row.id) {
        const owner = byId.get(String(answerId))?.client_id;
        problems.push(
          `${clientId}/${key}: 201 carried charge ${String(answerId)}${owner && owner !== clientId ? ` of ANOTHER client (${owner})` : ''}, the key's charge is ${row.id}`,
        );
      }
      if (member.expectation.kind === 'charge' && member.expectation.canonical !== charged) {
        problems.push(`${clientId}/${key}: a different body was answered 201 instead of 422`);
      }
    }
  }
  for (const row of rows) {
    if (seededIds.has(row.id)) continue;
    if (!groups.has(`${row.client_id}\u0000${row.idempotency_key}`)) {
      problems.push(
        `charge ${row.id} (${row.client_id}/${row.idempotency_key}) was created from invalid input`,
      );
    }
  }
  return problems;
}
