/**
 * The faults the proof injects on top of the client traffic: the relay SIGKILLed between
 * publishing and marking (with the queue's deduplication window expired before it restarts),
 * and PostgreSQL SIGKILLed mid-run.
 */
import type { LocalStack } from '../local/stack/stack.ts';
import type { ProofOptions } from './proof.ts';
import { waitUntil } from './proof-checks.ts';

/**
 * SIGKILLs the relay twice: once anywhere (a plain kill), then the restarted instance is armed
 * to kill itself between publishing a batch and marking it published. Before it is started
 * again the queue drains and SQS forgets its deduplication ids (as five minutes would), so the
 * re-published batch reaches the consumer and the ledger inbox must absorb it.
 */
export async function killRelay(
  stack: LocalStack,
  options: ProofOptions,
  injected: { relayKills: number; dedupWindowExpired: number },
  log: (line: string) => void,
): Promise<void> {
  const relay = stack.processes.relay;
  const before = relay.restarts;
  relay.armNextStart({ FAILPOINTS: 'relay.after-publish=crash' });
  relay.beforeNextRestart(async () => {});
  relay.beforeNextRestart(async () => {
    await waitUntil(async () => (await stack.queueDepth()) === 0, 30_000);
    if (options.sabotage === 'truncate-inbox') {
      log('SABOTAGE (test only): TRUNCATE ledger.inbox before the re-publish');
      await stack.pool.query('TRUNCATE ledger.inbox');
    }
    await stack.forgetDeduplication();
    injected.dedupWindowExpired += 1;
    log('relay: queue drained; SQS deduplication window expired (queue recreated); restarting');
  });
  log('relay: SIGKILL (restarts armed with relay.after-publish=crash)');
  await relay.kill();
  injected.relayKills += 1;
  await waitUntil(async () => relay.restarts > before, 10_000);
  const signal = await relay.exited();
  if (signal === 'SIGKILL') {
    injected.relayKills += 1;
    log('relay: killed itself after publishing, before marking published');
  }
  await waitUntil(async () => relay.restarts >= before + 2, 30_000);
  await relay.ready();
}

/**
 * SIGKILLs the PostgreSQL server while charges are in flight, as a crash or a failover would.
 * The stack starts it again on the same data directory and port; every process's pool
 * reconnects on its own, and clients retry what failed meanwhile with the same keys.
 */
export async function killDatabase(
  stack: LocalStack,
  injected: { databaseKills: number },
  log: (line: string) => void,
): Promise<void> {
  const before = stack.database.restarts;
  log('database: SIGKILL PostgreSQL (the stack restarts it on the same data directory)');
  await stack.database.kill();
  injected.databaseKills += 1;
  await waitUntil(async () => stack.database.restarts > before, 10_000);
  await stack.database.ready();
  log(`database: accepting connections again (restarts: ${stack.database.restarts})`);
}
