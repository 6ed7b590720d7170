/**
 * The layering rules, read from the import statements of the source files (no bundler, no
 * type checker: what a file names in `import`/`export … from`/`import()` is what it depends
 * on, type-only imports included).
 *
 * - functions/domain and functions/use-cases import nothing from AWS, Lambda, pg or middy,
 *   and reach other code of the repository only through each other and primitives/;
 * - functions/ never imports client/ or scripts/;
 * - client/ never imports functions/ or scripts/;
 * - primitives/ (what both sides share) imports nothing of the repository outside itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module specifier a TypeScript source names: static, re-export, side-effect, dynamic. */
function importSpecifiers(source: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\s[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1/gm,
    /^\s*import\s*(['"])([^'"]+)\1/gm,
    /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g,
  ];
  return patterns.flatMap((pattern) =>
    [...source.matchAll(pattern)].map((match) => match[2] ?? ''),
  );
}

/** The .ts files below `folder` (repository-relative), recursively. */
function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

interface Import {
  file: string;
  specifier: string;
  /** Repository-relative path of a relative import (with `/` separators); else undefined. */
  local?: string;
}

function importsOf(folder: string): Import[] {
  return sourceFiles(folder).flatMap((file) =>
    importSpecifiers(readFileSync(join(ROOT, file), 'utf8')).map((specifier) => ({
      file,
      specifier,
      ...(specifier.startsWith('.')
        ? {
            local: relative(ROOT, resolve(ROOT, dirname(file), specifier))
              .split(sep)
              .join('/'),
          }
        : {}),
    })),
  );
}

const within = (path: string, folders: readonly string[]) =>
  folders.some((folder) => path === folder || path.startsWith(`${folder}/`));

const describeImport = ({ file, specifier }: Import) => `${file} imports '${specifier}'`;

/** Packages that tie code to a transport, a cloud or a database driver. */
const INFRASTRUCTURE =
  /^(?:@aws-sdk\/|@aws-lambda-powertools\/|@aws\/|aws-lambda$|aws-cdk-lib|constructs$|@middy\/|pg$|pg-|node-pg-migrate$|@redis\/|opossum$)/;

/** The pure layers: business rules with no AWS, Lambda, database or HTTP framework in them. */
const PURE_LAYERS = ['functions/domain', 'functions/use-cases'];
/** What the pure layers may import from the repository: each other and the shared primitives. */
const PURE_LAYERS_MAY_IMPORT = [...PURE_LAYERS, 'primitives'];

describe('the architecture', () => {
  it('reads every kind of import statement, type-only and dynamic ones included', () => {
    const source = [
      "import type { Context } from 'aws-lambda';",
      'import {',
      '  a,',
      '  type B,',
      "} from '../store/charge-store.ts';",
      "export { c } from './c.ts';",
      "import './side-effect.ts';",
      "const lazy = await import('pg');",
      'const text = \'this is not an import from "x"\';',
    ].join('\n');
    expect(importSpecifiers(source)).toEqual([
      'aws-lambda',
      '../store/charge-store.ts',
      './c.ts',
      './side-effect.ts',
      'pg',
    ]);
  });

  it('keeps AWS, Lambda, pg and middy out of the pure layers', () => {
    for (const layer of PURE_LAYERS) {
      expect(
        importsOf(layer).length,
        `no imports found in ${layer}: is it still there?`,
      ).toBeGreaterThan(0);
    }
    const imports = PURE_LAYERS.flatMap(importsOf);
    const offending = imports.filter(
      (entry) =>
        INFRASTRUCTURE.test(entry.specifier) ||
        (entry.local !== undefined && !within(entry.local, PURE_LAYERS_MAY_IMPORT)),
    );
    expect(offending.map(describeImport)).toEqual([]);
  });

  it('keeps client and scripts code out of functions/', () => {
    const offending = importsOf('functions').filter(
      (entry) => entry.local !== undefined && within(entry.local, ['client', 'scripts']),
    );
    expect(offending.map(describeImport)).toEqual([]);
  });

  it('keeps server and scripts code out of client/', () => {
    const offending = importsOf('client').filter(
      (entry) =>
        INFRASTRUCTURE.test(entry.specifier) ||
        (entry.local !== undefined && !within(entry.local, ['client', 'primitives'])),
    );
    expect(offending.map(describeImport)).toEqual([]);
  });

  it('keeps primitives/ free of the code that shares it', () => {
    const offending = importsOf('primitives').filter(
      (entry) =>
        (entry.local !== undefined && !within(entry.local, ['primitives'])) ||
        (entry.local === undefined && !entry.specifier.startsWith('node:')),
    );
    expect(offending.map(describeImport)).toEqual([]);
  });
});
