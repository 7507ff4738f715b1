import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nominalPeak, type CpuInfo } from '../../src/engine/cpu_info.js';

const cpu = (vendor: string, family: number): CpuInfo => ({ model: 'x', vendor, family, cores: 2, mhz: 3000, flags: new Set() });

test('the nominal peak follows the kernels in use and the FMA width of the core', () => {
  const cases: Array<[CpuInfo, string, number]> = [
    [cpu('AuthenticAMD', 25), 'avx512', 32], // Zen 4: 512-bit operations on 256-bit pipes
    [cpu('AuthenticAMD', 26), 'avx512', 64], // Zen 5: 512-bit pipes
    [cpu('GenuineIntel', 6), 'avx512', 64],
    [cpu('AuthenticAMD', 26), 'avx2+fma', 32],
    [cpu('AuthenticAMD', 25), 'wasm-simd128', 16],
    [cpu('GenuineIntel', 6), 'wasm-simd128', 8],
  ];
  for (const [info, isa, flopsPerCycle] of cases) {
    const peak = nominalPeak(info, isa);
    assert.equal(peak.flopsPerCycle, flopsPerCycle, `${info.vendor} family ${info.family} ${isa}`);
    assert.equal(peak.gflopsPerCore, flopsPerCycle * 3);
    assert.match(peak.basis, new RegExp(`${flopsPerCycle} FLOPs/cycle x 3000 MHz$`));
  }
});
