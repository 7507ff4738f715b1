import { readFileSync } from 'node:fs';
import os from 'node:os';

/** What the bench and `harmofl info` say of the processor. */
export interface CpuInfo {
  model: string;
  vendor: string;
  family: number;
  cores: number;
  mhz: number;
  flags: ReadonlySet<string>;
}

/** The processor from /proc/cpuinfo (Linux), else what Node knows. */
export function readCpuInfo(): CpuInfo {
  const cpus = os.cpus();
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: model and speed from Node, no flags.
  }
  const field = (name: string): string => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return {
    model: cpus[0]?.model ?? (field('model name') || 'unknown'),
    vendor: field('vendor_id'),
    family: Number(field('cpu family')) || 0,
    cores: os.availableParallelism(),
    mhz: Number(field('cpu MHz')) || cpus[0]?.speed || 0,
    flags: new Set(
      field('flags')
        .split(/\s+/)
        .filter((f) => f.length > 0),
    ),
  };
}

/** The vector extensions that decide which kernels can run: `avx2 fma avx512f`, those present. */
export function simdFlags(cpu: CpuInfo): string {
  return ['avx2', 'fma', 'avx512f'].filter((f) => cpu.flags.has(f)).join(' ') || 'no AVX2/FMA';
}

/** Single-precision FLOPs per cycle per core a kernel set can reach at best, and why. */
export interface NominalPeak {
  flopsPerCycle: number;
  gflopsPerCore: number;
  basis: string;
}

/**
 * The nominal single-precision peak per core for the heap kernels' instruction set at the
 * reported clock (turbo clocks make real peaks higher; the bench also measures one natively).
 * - wasm SIMD: 128-bit, no FMA: a multiply and an add per 4 lanes; AMD's two FP add pipes beside
 *   its two multiply pipes issue both at once (16 FLOPs/cycle), Intel's shared FMA ports do not (8).
 * - AVX2 + FMA: two 256-bit FMA ports (32). AVX-512: two 512-bit FMA ports on Intel server parts
 *   (64); AMD's Zen 4 (family 25) runs 512-bit operations on its 256-bit ports (32), Zen 5
 *   (family 26) server parts have 512-bit ports (64).
 */
export function nominalPeak(cpu: CpuInfo, isa: string): NominalPeak {
  const amd = cpu.vendor === 'AuthenticAMD';
  let flopsPerCycle: number;
  let basis: string;
  if (isa.startsWith('avx512')) {
    const halfWidth = amd && cpu.family < 26;
    flopsPerCycle = halfWidth ? 32 : 64;
    basis = halfWidth ? 'AVX-512 on two 256-bit FMA pipes (Zen 4)' : 'two 512-bit FMA ports';
  } else if (isa.startsWith('avx2')) {
    flopsPerCycle = 32;
    basis = 'two 256-bit FMA ports';
  } else {
    flopsPerCycle = amd ? 16 : 8;
    basis = amd ? '128-bit SIMD, separate multiply and add pipes' : '128-bit SIMD, multiply and add on shared ports';
  }
  return {
    flopsPerCycle,
    gflopsPerCore: (flopsPerCycle * cpu.mhz) / 1000,
    basis: `${basis}, ${flopsPerCycle} FLOPs/cycle x ${cpu.mhz.toFixed(0)} MHz`,
  };
}
