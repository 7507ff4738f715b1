import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ADDON = fileURLToPath(new URL('../../../native/build/Release/harmofl_kernels.node', import.meta.url));

/** `harmofl info` with extra environment variables. */
function info(env: Record<string, string>): string {
  return execFileSync(process.execPath, [MAIN, 'info', '--backend', 'wasm'], { env: { ...process.env, ...env }, encoding: 'utf8' });
}

test('harmofl info names the CPU, the heap kernels that run and why, and the threads', () => {
  const forced = info({ HARMOFL_KERNELS: 'wasm' });
  assert.match(forced, /^cpu: .+ \(\d+ cores/m);
  assert.match(forced, /heap kernels: WebAssembly kernels chosen \(HARMOFL_KERNELS=wasm\)/);
  assert.match(forced, /threads per client: 1 /);
  if (existsSync(ADDON) || process.env['HARMOFL_EXPECT_NATIVE'] === '1') {
    const native = info({ HARMOFL_KERNELS: 'auto' });
    assert.match(native, /heap kernels: native (avx2\+fma|avx512) kernels/);
  }
});

test('harmofl info refuses an unknown HARMOFL_KERNELS, naming the choices', () => {
  assert.throws(() => info({ HARMOFL_KERNELS: 'fast' }), /HARMOFL_KERNELS must be one of auto, native, wasm/);
});
