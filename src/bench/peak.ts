import { nominalPeak, readCpuInfo, simdFlags, type NominalPeak } from '../engine/cpu_info.js';
import { kernelChoiceFromEnv, loadNativeKernels } from '../engine/native_addon.js';

/** The physical limit the bench's GFLOP/s are read against. */
export interface PeakInfo {
  cpu: string;
  /** The heap kernels' instruction set: `wasm-simd128`, `avx2+fma` or `avx512`. */
  isa: string;
  nominal: NominalPeak;
  /** Register-only fused multiply-adds on one thread, measured by the native addon (absent on wasm). */
  measuredGflopsPerCore?: number;
}

/** This machine's CPU and the per-core peak of the kernels that will run (measures for half a second when native). */
export function measurePeak(): PeakInfo {
  const cpu = readCpuInfo();
  const { addon } = loadNativeKernels(kernelChoiceFromEnv());
  const isa = addon?.describe().isa ?? 'wasm-simd128';
  return {
    cpu: `${cpu.model}, ${cpu.cores} cores, ${simdFlags(cpu)}`,
    isa,
    nominal: nominalPeak(cpu, isa),
    ...(addon !== undefined ? { measuredGflopsPerCore: addon.fmaPeak(0.5) } : {}),
  };
}
