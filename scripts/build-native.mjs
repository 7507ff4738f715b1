#!/usr/bin/env node
// Builds the native heap kernels (native/, C++ with AVX2 and AVX-512 variants) with node-gyp and
// the system's C++ compiler. It never fails an install: without a compiler, headers or node-gyp
// it says why and harmofl runs its WebAssembly kernels (the portable path, and the browser's).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'native');

/** Prints why the native kernels are not built and leaves the install successful. */
function skip(reason) {
  // A stale addon from an earlier build must not outlive a failed one.
  rmSync(join(native, 'build'), { recursive: true, force: true });
  process.stderr.write(`harmofl: native kernels not built (${reason}); the WebAssembly SIMD kernels will run instead\n`);
  process.exit(0);
}

if (process.env.HARMOFL_NATIVE === '0') skip('HARMOFL_NATIVE=0');
if (process.platform !== 'linux' || process.arch !== 'x64') skip(`no native kernels for ${process.platform}-${process.arch} yet`);

const cxx = process.env.CXX ?? 'c++';
const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
if (probe.status !== 0)
  skip(`no C++ compiler: "${cxx} --version" ${probe.error ? `failed (${probe.error.message})` : `exited ${probe.status}`}`);

// npm sets npm_config_node_gyp while it runs scripts; otherwise use the copy npm ships with Node.
const nodeGyp = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].find((p) => p !== undefined && existsSync(p));
if (nodeGyp === undefined) skip('node-gyp not found (it comes with npm)');

// Node's own headers beside its binary spare node-gyp a download (this machine has no internet).
const prefix = join(dirname(process.execPath), '..');
const nodedir = existsSync(join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];
process.stderr.write(`harmofl: building native kernels with ${cxx} (node-gyp)...\n`);
const started = Date.now();
const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--jobs=max', ...nodedir], {
  cwd: native,
  encoding: 'utf8',
  timeout: 10 * 60 * 1000,
});
if (build.status !== 0) {
  const tail = `${build.stdout ?? ''}${build.stderr ?? ''}`.trim().split('\n').slice(-6).join('\n  ');
  skip(`node-gyp ${build.error ? build.error.message : `exited ${build.status}`}:\n  ${tail}\n`);
}
process.stderr.write(
  `harmofl: native kernels built in ${((Date.now() - started) / 1000).toFixed(1)} s (native/build/Release/harmofl_kernels.node)\n`,
);
