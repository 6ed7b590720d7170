import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../../functions/migrate/run-migrations.ts';
import {
  type RunningPostgres,
  startEmbeddedPostgres,
} from '../../scripts/local/embedded-postgres.ts';

export const TEMPLATE_DATABASE = 'payments_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a database on the test server from which test databases can be created. */
    adminUrl: string;
  }
}

let embedded: RunningPostgres | undefined;

/**
 * One PostgreSQL server for the whole run: the embedded one, or the server behind
 * DATABASE_URL. A migrated template database is built once; every test file then gets its
 * own copy (CREATE DATABASE … TEMPLATE), so files run in parallel without sharing rows.
 */
export async function setup(project: TestProject): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres();
    adminUrl = embedded.adminUrl;
  }
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE}`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${TEMPLATE_DATABASE}`;
  await migrateToLatest(templateUrl.toString());
  project.provide('adminUrl', adminUrl);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
}
