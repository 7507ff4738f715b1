import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('harmofl join --flower is the Flower client; harmofl join without it wants a kit', async () => {
  const exec = promisify(execFile);
  // The Flower client reads its data before it dials, so a missing folder proves which command ran.
  await assert.rejects(
    exec('node', [cli, 'join', '--flower', '127.0.0.1:9', '--data', '/nonexistent-harmofl', '--backend', 'cpu']),
    (e: { stderr: string }) => /\/nonexistent-harmofl: not found/.test(e.stderr),
  );
  await assert.rejects(exec('node', [cli, 'join', '--data', '/nonexistent-harmofl']), (e: { stderr: string }) =>
    /required option '--kit <dir>' not specified/.test(e.stderr),
  );
});
