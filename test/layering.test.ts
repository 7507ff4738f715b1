import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src', import.meta.url));

/** Which folders of src each folder may import from: lower layers never import higher ones. */
const ALLOWED: Record<string, readonly string[]> = {
  engine: [],
  gen: [],
  nn: ['engine'],
  optim: ['engine'],
  losses: ['engine'],
  data: ['engine'],
  harmofl: ['engine', 'nn', 'optim', 'losses'],
  bench: ['engine', 'nn', 'optim', 'losses', 'harmofl'],
  fl: ['engine', 'nn', 'optim', 'losses', 'harmofl', 'data'],
  report: ['engine', 'nn', 'losses', 'harmofl', 'data', 'fl'],
  predict: ['engine', 'nn', 'optim', 'losses', 'harmofl', 'data'],
  pki: ['engine'],
  net: ['engine', 'nn', 'optim', 'losses', 'harmofl', 'data', 'fl', 'gen', 'pki'],
  flower: ['engine', 'nn', 'optim', 'losses', 'harmofl', 'data', 'fl', 'gen'],
  experiment: ['engine', 'nn', 'optim', 'losses', 'harmofl', 'data', 'fl', 'report'],
};

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );

/** Relative module specifiers of a file, with whether each is type-only. */
function importsOf(file: string): Array<{ spec: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?'([^']+)'/gm)].map((m) => ({
    spec: m[3]!,
    typeOnly: m[2] !== undefined,
  }));
}

test('no folder of src imports a higher layer (nn never imports harmofl, data never imports report)', () => {
  const violations: string[] = [];
  for (const file of files(src)) {
    const folder = path.relative(src, file).split(path.sep)[0]!;
    const allowed = ALLOWED[folder];
    if (allowed === undefined) continue;
    for (const { spec } of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = path.relative(src, path.resolve(path.dirname(file), spec)).split(path.sep)[0]!;
      if (target !== folder && !allowed.includes(target)) violations.push(`${path.relative(src, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the portable core (harmofl) reaches no Node built-in through a value import', () => {
  const seen = new Set<string>();
  const nodeOnly: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { spec, typeOnly } of importsOf(file)) {
      if (typeOnly) continue;
      if (spec.startsWith('node:')) nodeOnly.push(`${path.relative(src, file)} imports ${spec}`);
      else if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
    }
  };
  visit(path.join(src, 'index.ts'));
  assert.ok(seen.size > 40, `walked ${seen.size} modules`);
  assert.deepEqual(nodeOnly, []);
  assert.ok(
    importsOf(path.join(src, 'node.ts')).some((i) => i.spec === './fl/simulate.js'),
    'the Node entry carries simulate()',
  );
});
