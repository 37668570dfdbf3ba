/**
 * The dicom module runs in the browser (panel) and in Node (triage worker): its sources may import
 * dcmjs and the framework-free core, nothing else (no React, OHIF, Cornerstone, onnxruntime, and
 * no node: built-ins, which the browser lacks). Tests and test fixtures may use Node.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const DICOM_DIR = __dirname;
const CORE_DIR = resolve(__dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'testing' ? [] : sources(path);
    return /\.ts$/.test(name) && !/\.(test|d)\.ts$/.test(name) ? [path] : [];
  });
}

function specifiers(text: string): string[] {
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap(pattern => [...text.matchAll(pattern)].map(match => match[1]));
}

describe('dicom module purity', () => {
  const files = sources(DICOM_DIR);

  it('finds the module sources', () => {
    expect(files.map(f => relative(DICOM_DIR, f))).toEqual(expect.arrayContaining(['index.ts', 'resultSr.ts', 'parametricMap.ts']));
  });

  it.each(files.map(f => [relative(DICOM_DIR, f), f]))('%s imports only dcmjs, its siblings and the core', (_name, file) => {
    const bad = specifiers(readFileSync(file, 'utf8')).filter(specifier => {
      if (specifier === 'dcmjs') return false;
      if (!specifier.startsWith('.')) return true;
      const target = resolve(DICOM_DIR, specifier);
      return !(target.startsWith(DICOM_DIR) || target.startsWith(CORE_DIR));
    });
    expect(bad).toEqual([]);
  });
});
