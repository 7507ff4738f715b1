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

/** This machine's CPU and the per-core peak of the kernels that will run (measures for 0.6 s when native). */
export function measurePeak(): PeakInfo {
  const cpu = readCpuInfo();
  const { addon } = loadNativeKernels(kernelChoiceFromEnv());
  const isa = addon?.describe().isa ?? 'wasm-simd128';
  return {
    cpu: `${cpu.model}, ${cpu.cores} cores, ${simdFlags(cpu)}`,
    isa,
    nominal: nominalPeak(cpu, isa),
    // Best of three: one reading can land while the shared host holds the core back.
    ...(addon !== undefined ? { measuredGflopsPerCore: Math.max(...[0, 1, 2].map(() => addon.fmaPeak(0.2))) } : {}),
  };
}

/**
 * The host check of one bench row: GFLOP/s per core of the FMA loop run on `cores` threads at
 * once for 0.2 s, of the slowest thread (a fork-join region waits for its slowest), or undefined
 * on wasm. On a shared host a row taken while the host held its cores back reads below the run's
 * idle figure, which the row's throughput alone would not show.
 */
export function hostCheck(cores: number): number | undefined {
  return loadNativeKernels(kernelChoiceFromEnv()).addon?.fmaPeak(0.2, cores);
}
