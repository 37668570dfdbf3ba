/**
 * The core stays framework-free (STYLE.md 1): it must run in a worker, in Node and under jest
 * without React, OHIF, Cornerstone or onnxruntime. Adapters beside it bind those.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const CORE_DIR = __dirname;

const FORBIDDEN = [/^react(\/|$)/, /^react-dom(\/|$)/, /^@ohif\//, /^@cornerstonejs\//, /^onnxruntime/];
// Bare packages the core may use; adding one is a decision, so it is made here, not in passing.
// dcmjs reads and writes ChestAid's DICOM objects (dicom/); Node's built-ins are for the file
// store alone, which only the `@chestaid/core/node` entry exports, and for test fixtures that read
// files.
const ALLOWED_PACKAGES = new Set(['ajv', 'dcmjs']);
const NODE_ONLY = new Set(['siteCalibration/fileStore.ts', 'dicom/testing/fixtures.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

/** Every module specifier a file names: static imports, re-exports, dynamic import(), require(). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('core purity', () => {
  const files = sources(CORE_DIR);

  it('finds the core sources', () => {
    expect(files.map((f) => relative(CORE_DIR, f))).toEqual(expect.arrayContaining(['index.ts', 'pixels.ts']));
  });

  it('recognises every import form, so the checks below cannot pass vacuously', () => {
    const sample = [
      "import React from 'react';",
      "import type { Types } from '@cornerstonejs/core';",
      "export { x } from '@ohif/core';",
      "import 'onnxruntime-web/webgpu';",
      "const ort = await import('onnxruntime-web');",
      "const dom = require('react-dom/client');",
      "import {\n  a,\n  b,\n} from './local';",
    ].join('\n');
    expect(specifiers(sample)).toEqual(
      expect.arrayContaining([
        'react',
        '@cornerstonejs/core',
        '@ohif/core',
        'onnxruntime-web/webgpu',
        'onnxruntime-web',
        'react-dom/client',
        './local',
      ]),
    );
    expect(specifiers(readFileSync(join(CORE_DIR, 'manifest.ts'), 'utf8'))).toEqual(
      expect.arrayContaining(['ajv', '../schema/manifest.schema.json']),
    );
  });

  it.each(files.map((f) => [relative(CORE_DIR, f), f]))(
    '%s imports no React, react-dom, @ohif, @cornerstonejs or onnxruntime',
    (_name, file) => {
      const bad = specifiers(readFileSync(file, 'utf8')).filter((s) => FORBIDDEN.some((re) => re.test(s)));
      expect(bad).toEqual([]);
    },
  );

  it.each(files.map((f) => [relative(CORE_DIR, f), f]))('%s imports only relative modules, ajv and dcmjs', (name, file) => {
    const packages = specifiers(readFileSync(file, 'utf8'))
      .filter((s) => !s.startsWith('.'))
      .filter((s) => !(NODE_ONLY.has(name) && s.startsWith('node:')))
      .map(packageOf)
      .filter((p) => !ALLOWED_PACKAGES.has(p));
    expect(packages).toEqual([]);
  });
});
