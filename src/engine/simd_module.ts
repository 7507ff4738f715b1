import { readFileSync } from 'node:fs';

/** Exports of `assembly/filter_grad.ts`, compiled by AssemblyScript to `dist/wasm/filter_grad.wasm`. */
interface SimdExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  filterGrad(
    x: number,
    dy: number,
    out: number,
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
  ): void;
}

/** Byte offsets of reserved buffers in the module's memory, and a float view of that memory. */
export interface SimdArena {
  offsets: number[];
  heap: Float32Array;
}

/**
 * Our WebAssembly SIMD kernels: one instance per thread (each worker loads its own), with its own
 * memory. Written by hand (in AssemblyScript) where XNNPACK, through tfjs, has no fast path.
 */
export class SimdModule {
  private static instance: SimdModule | undefined;

  private constructor(readonly exports: SimdExports) {}

  /** This thread's instance, compiled on first use. */
  static get(): SimdModule {
    if (SimdModule.instance === undefined) {
      const url = new URL('../../wasm/filter_grad.wasm', import.meta.url);
      let bytes: Buffer;
      try {
        bytes = readFileSync(url);
      } catch (e) {
        throw new Error(`cannot read ${url.pathname} (${(e as Error).message}); run \`npm run build\` to compile assembly/`);
      }
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
      SimdModule.instance = new SimdModule(instance.exports as unknown as SimdExports);
    }
    return SimdModule.instance;
  }

  /** Lays out buffers of the given float counts (16-byte aligned) from the heap base, growing memory as needed. */
  reserve(floats: number[]): SimdArena {
    const { memory, heapBase } = this.exports;
    const offsets: number[] = [];
    let end = (heapBase() + 15) & ~15;
    for (const n of floats) {
      offsets.push(end);
      end += Math.ceil(n / 4) * 16;
    }
    const missing = Math.ceil((end - memory.buffer.byteLength) / 65536);
    if (missing > 0) memory.grow(missing);
    return { offsets, heap: new Float32Array(memory.buffer) };
  }
}
