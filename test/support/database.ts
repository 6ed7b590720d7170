import { inject } from 'vitest';
import {
  type CopiedDatabase,
  copyTemplateDatabase,
} from '../../scripts/local/stack/template-database.ts';
import { TEMPLATE_DATABASE } from './global-setup.ts';

export type TestDatabase = CopiedDatabase;

/** A freshly migrated database of its own (a copy of the template), and a pool on it. */
export function createTestDatabase(): Promise<TestDatabase> {
  return copyTemplateDatabase(inject('adminUrl'), TEMPLATE_DATABASE, {
    prefix: 'payments_test',
    poolMax: 5,
  });
}
