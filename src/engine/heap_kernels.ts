import type { HeapBackend } from './kernels/heap_backend.js';
import { simdKernels } from './simd_module.js';

/**
 * The kernels our tfjs kernel functions call on tensors in the wasm heap (pointers are heap byte
 * offsets): the exports of `assembly/conv_kernels.ts` (compiled by AssemblyScript at build time),
 * or the same functions natively (`native/`, C++ with AVX2/AVX-512 and threads) where built.
 */
export interface HeapKernels {
  filterGrad(
    x: number,
    dy: number,
    out: number,
    scratch: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    rowBlock: number,
    /** Floats between x's pixels: ci for a dense tensor, more to read the leading channels of a wider one. */
    xStride: number,
  ): void;
  copyRuns(src: number, srcStride: number, dst: number, dstStride: number, runBytes: number, rows: number): void;
  /** out[i] = a[i] op b[i % bCount] for i < count (op: 0 add, 1 subtract, 2 multiply, 3 ReLU of a). */
  elementwise(op: number, a: number, b: number, out: number, count: number, bCount: number): void;
  /** Per batch, dst[j * dstRow + i] = src[i * srcRow + j] for i < rows, j < cols (strides in floats). */
  transposeTiles(
    src: number,
    dst: number,
    batches: number,
    rows: number,
    cols: number,
    srcBatch: number,
    srcRow: number,
    dstBatch: number,
    dstRow: number,
  ): void;
  /** dst (n x hp x wp x cp) = src (n x h x w x c) moved by top rows and left columns, zeros elsewhere; negative amounts crop. */
  padPlane(
    src: number,
    dst: number,
    n: number,
    h: number,
    w: number,
    c: number,
    hp: number,
    wp: number,
    cp: number,
    top: number,
    left: number,
  ): void;
  maxPoolGrad(
    x: number,
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    padTop: number,
    padLeft: number,
  ): void;
  avgPoolGradTiled(
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    scale: number,
  ): void;
  channelSums(u: number, v: number, rows: number, channels: number, out: number, relu: boolean): void;
  channelAffine(
    u: number,
    v: number,
    out: number,
    rows: number,
    channels: number,
    coef: number,
    relu: boolean,
    /** Where ReLU of out also goes, rows `rectStride` floats apart (0 stride: nowhere). */
    rect: number,
    rectStride: number,
  ): void;
  winogradFilterGrad(
    x: number,
    dy: number,
    out: number,
    scratch: number,
    n: number,
    ih: number,
    iw: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    block: number,
    top: number,
    left: number,
  ): void;
  winograd(
    x: number,
    w: number,
    y: number,
    scratch: number,
    n: number,
    ih: number,
    iw: number,
    ci: number,
    wci: number,
    oh: number,
    ow: number,
    co: number,
    yStride: number,
    block: number,
    top: number,
    left: number,
  ): void;
  conv(
    x: number,
    w: number,
    y: number,
    scratch: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    yStride: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    block: number,
    /** Add the convolution to y instead of writing it (y + sum, as a separate Add would round). */
    accumulate: boolean,
    /** Floats between x's pixels: ci for a dense tensor, more to read the leading channels of a wider one. */
    xStride: number,
  ): void;
}

/** What the native addon says of itself: its instruction set, or why it cannot run here. */
export interface NativeDescription {
  isa?: string;
  unsupported?: string;
  hardwareThreads: number;
}

/** The native addon (`native/addon.cc`): every heap kernel with the heap's ArrayBuffer and a thread count first. */
export type NativeKernelAddon = {
  [K in keyof HeapKernels]: (heap: ArrayBuffer, threads: number, ...args: Parameters<HeapKernels[K]>) => void;
} & {
  describe(): NativeDescription;
  /** GFLOP/s per thread of register-only fused multiply-adds for about `seconds` on `threads` threads at once (default 1), of the slowest: the practical peak. */
  fmaPeak(seconds: number, threads?: number): number;
};

const KERNEL_NAMES: ReadonlyArray<keyof HeapKernels> = [
  'conv',
  'winograd',
  'filterGrad',
  'winogradFilterGrad',
  'channelSums',
  'channelAffine',
  'maxPoolGrad',
  'avgPoolGradTiled',
  'copyRuns',
  'padPlane',
  'elementwise',
  'transposeTiles',
];

let native: NativeKernelAddon | undefined;
let threads = 1;
// Per heap, each kernel set bound once (and wrapped for profiling), so a kernel call allocates nothing.
const bound = { native: new WeakMap<WebAssembly.Memory, HeapKernels>(), wasm: new WeakMap<WebAssembly.Memory, HeapKernels>() };

/** The convolution kernels, with the multiply-adds of the direct convolution each call stands for (Winograd does fewer). */
const CONV_FLOPS = {
  conv: (a: number[]) => 2 * a[4]! * a[8]! * a[9]! * a[12]! * a[13]! * a[7]! * a[10]!,
  winograd: (a: number[]) => 2 * a[4]! * a[9]! * a[10]! * 9 * a[8]! * a[11]!,
  filterGrad: (a: number[]) => 2 * a[4]! * a[8]! * a[9]! * a[11]! * a[12]! * a[7]! * a[10]!,
  winogradFilterGrad: (a: number[]) => 2 * a[4]! * a[8]! * a[9]! * 9 * a[7]! * a[10]!,
} as const;

/** Time and work of one convolution kernel over a profiled span. */
export interface KernelProfileEntry {
  calls: number;
  seconds: number;
  /** Direct-convolution floating-point operations (multiply and add counted apart). */
  flops: number;
}

/** Per convolution kernel (`conv` also serves input gradients; `winograd*` are the 3x3 paths). */
export type KernelProfile = Partial<Record<keyof typeof CONV_FLOPS, KernelProfileEntry>>;

let profile: KernelProfile | undefined;

/** Starts timing the convolution kernels on this thread (for the bench's GFLOP/s). */
export function startKernelProfile(): void {
  profile = {};
}

/** Stops timing and returns what was measured since `startKernelProfile`. */
export function takeKernelProfile(): KernelProfile {
  const taken = profile ?? {};
  profile = undefined;
  return taken;
}

/** `kernels` with the convolution kernels timed while a profile is on. */
function profiled(kernels: HeapKernels): HeapKernels {
  const out = { ...kernels };
  for (const name of Object.keys(CONV_FLOPS) as Array<keyof typeof CONV_FLOPS>) {
    const fn = kernels[name] as (...args: number[]) => void;
    (out as Record<string, unknown>)[name] = (...args: number[]) => {
      if (profile === undefined) return fn(...args);
      const start = performance.now();
      fn(...args);
      const entry = (profile[name] ??= { calls: 0, seconds: 0, flops: 0 });
      entry.calls++;
      entry.seconds += (performance.now() - start) / 1000;
      entry.flops += CONV_FLOPS[name](args);
    };
  }
  return out;
}

/** Hands the engine the native kernels (the Node platform loads them); undefined goes back to the wasm kernels. */
export function provideNativeKernels(addon: NativeKernelAddon | undefined): void {
  native = addon;
}

/** Threads each native kernel call splits its work across (the wasm kernels run on the calling thread alone). */
export function setKernelThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`kernel threads must be an integer from 1 to 256, got ${n}`);
  threads = n;
}

/** The kernel thread count in force on this thread. */
export function kernelThreads(): number {
  return native === undefined ? 1 : threads;
}

/** The native kernels on `memory`: each call passes the heap's current ArrayBuffer (growing the heap replaces it) and the thread count. */
function bindNative(addon: NativeKernelAddon, memory: WebAssembly.Memory): HeapKernels {
  const table: Record<string, (...args: unknown[]) => void> = {};
  for (const name of KERNEL_NAMES) {
    const fn = addon[name] as (heap: ArrayBuffer, threads: number, ...args: unknown[]) => void;
    table[name] = (...args: unknown[]) => fn(memory.buffer, threads, ...args);
  }
  return table as unknown as HeapKernels;
}

/** The heap kernels for `backend`'s heap: native where provided, else our WebAssembly SIMD module. */
export function heapKernels(backend: HeapBackend): HeapKernels {
  const memory = backend.wasm.asm?.memory;
  if (memory === undefined)
    throw new Error('the wasm backend does not expose its memory (wasm.asm.memory); this tfjs-backend-wasm version is not supported');
  const addon = native;
  const cache = addon === undefined ? bound.wasm : bound.native;
  let kernels = cache.get(memory);
  if (kernels === undefined) {
    kernels = profiled(addon === undefined ? simdKernels(backend) : bindNative(addon, memory));
    cache.set(memory, kernels);
  }
  return kernels;
}
