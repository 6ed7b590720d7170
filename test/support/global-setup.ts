import type { TestProject } from 'vitest/node';
import {
  type RunningPostgres,
  startEmbeddedPostgres,
} from '../../scripts/local/embedded-postgres.ts';
import { buildTemplateDatabase } from '../../scripts/local/stack/template-database.ts';

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
  await buildTemplateDatabase(adminUrl, TEMPLATE_DATABASE);
  project.provide('adminUrl', adminUrl);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
}
