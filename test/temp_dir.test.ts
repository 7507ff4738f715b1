import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HELPER = new URL('./temp_dir.js', import.meta.url).href;

test('a test temp dir and its files are gone once the test process exits, also after a failure', async () => {
  for (const ending of ['', 'process.exitCode = 1;', "throw new Error('a failing test');"]) {
    const script = `
      import { writeFile, mkdir } from 'node:fs/promises';
      import { tempDir } from ${JSON.stringify(HELPER)};
      const dir = await tempDir('harmofl-temp-dir-test-');
      await mkdir(dir + '/nested');
      await writeFile(dir + '/nested/file', 'x');
      console.log(dir);
      ${ending}`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]).catch((e: { stdout: string }) => e);
    const dir = stdout.trim();
    assert.match(dir, /harmofl-temp-dir-test-/);
    assert.equal(existsSync(dir), false, `${dir} left behind (ending: ${ending || 'normal exit'})`);
  }
});
