// Applies patches/*.patch to the installed dependencies they name, at install time, in this
// project and in any project that installs harmofl (patch-package is a dev tool a consumer does
// not have, and it looks for packages under its own folder only). Idempotent: a file that
// already carries a patch is left alone. Plain JavaScript: it runs before the TypeScript build.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyPatch, parsePatch } from 'diff';

const here = path.dirname(fileURLToPath(import.meta.url));
const patchDir = path.join(here, '..', 'patches');
const require = createRequire(path.join(here, '..', 'package.json'));
const MARK = 'harmofl patch';

/** `node_modules/@scope/name/rest` to the installed file, wherever npm put the package. */
function installedFile(name) {
  const parts = name
    .replace(/^[ab]\//, '')
    .replace(/^node_modules\//, '')
    .split('/');
  const pkg = parts[0].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const rest = parts.slice(pkg.split('/').length).join('/');
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), rest);
}

for (const file of (await readdir(patchDir)).filter((f) => f.endsWith('.patch'))) {
  for (const patch of parsePatch(await readFile(path.join(patchDir, file), 'utf8'))) {
    const target = installedFile(patch.oldFileName);
    const source = await readFile(target, 'utf8');
    if (source.includes(MARK)) continue;
    const patched = applyPatch(source, patch);
    if (patched === false) {
      process.stderr.write(`harmofl: ${file} does not apply to ${target} (another version?); training will use more memory\n`);
      continue;
    }
    await writeFile(target, patched);
    process.stdout.write(`harmofl: applied ${file} to ${path.relative(process.cwd(), target)}\n`);
  }
}
