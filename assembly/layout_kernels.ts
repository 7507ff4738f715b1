// Elementwise arithmetic and 2-D transposes on float32 tensors in tfjs's wasm heap.

/** Elementwise ops by number (the order of ELEMENTWISE_OPS in src/engine/kernels/elementwise.ts). */
const ADD = 0;
const SUB = 1;
const MUL = 2;
const RELU = 3;

/** ReLU as JavaScript's max(0, x) gives it (NaN passes, -0 becomes 0): the one definition both kernel files use. */
// @ts-ignore: decorator
@inline
export function rectify(x: f32): f32 {
  return x <= 0 ? 0 : x;
}

/** `rectify` for four floats. */
// @ts-ignore: decorator
@inline
export function rectify4(x: v128): v128 {
  return v128.andnot(x, f32x4.le(x, f32x4.splat(0)));
}

/**
 * out[i] = a[i] op b[i % bCount] for i < count (bCount divides count: b repeats along leading
 * axes, a bias); RELU ignores b and gives max(0, a) as JavaScript does (NaN passes, -0 becomes 0).
 */
export function elementwise(op: i32, a: usize, b: usize, out: usize, count: i32, bCount: i32): void {
  // A scalar b as a vector: one pass instead of a row per element.
  if (op != RELU && bCount == 1) {
    const z = f32x4.splat(load<f32>(b));
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const x = v128.load(a + <usize>i * 4);
      v128.store(out + <usize>i * 4, op == ADD ? f32x4.add(x, z) : op == SUB ? f32x4.sub(x, z) : f32x4.mul(x, z));
    }
    for (; i < count; i++) {
      const x = load<f32>(a + <usize>i * 4);
      const y = load<f32>(b);
      store<f32>(out + <usize>i * 4, op == ADD ? x + y : op == SUB ? x - y : x * y);
    }
    return;
  }
  for (let r = 0; r < count; r += bCount) {
    const at = <usize>r * 4;
    let i = 0;
    for (; i + 4 <= bCount; i += 4) {
      const k = <usize>i * 4;
      const x = v128.load(a + at + k);
      let y: v128;
      if (op == RELU) y = rectify4(x);
      else {
        const z = v128.load(b + k);
        y = op == ADD ? f32x4.add(x, z) : op == SUB ? f32x4.sub(x, z) : f32x4.mul(x, z);
      }
      v128.store(out + at + k, y);
    }
    for (; i < bCount; i++) {
      const k = <usize>i * 4;
      const x = load<f32>(a + at + k);
      let y: f32;
      if (op == RELU) y = rectify(x);
      else {
        const z = load<f32>(b + k);
        y = op == ADD ? x + z : op == SUB ? x - z : x * z;
      }
      store<f32>(out + at + k, y);
    }
  }
}

/**
 * For each of `batches` matrices: dst[b * dstBatch + j * dstRow + i] = src[b * srcBatch + i * srcRow + j]
 * for i < rows, j < cols (strides in floats), by 32 x 32 tiles that stay in L1.
 */
export function transposeTiles(src: usize, dst: usize, batches: i32, rows: i32, cols: i32, srcBatch: i32, srcRow: i32, dstBatch: i32, dstRow: i32): void {
  for (let b = 0; b < batches; b++) {
    const s0 = src + <usize>b * <usize>srcBatch * 4;
    const d0 = dst + <usize>b * <usize>dstBatch * 4;
    for (let i0 = 0; i0 < rows; i0 += 32) {
      const i1 = min(rows, i0 + 32);
      for (let j0 = 0; j0 < cols; j0 += 32) {
        const j1 = min(cols, j0 + 32);
        for (let j = j0; j < j1; j++) {
          const d = d0 + <usize>j * <usize>dstRow * 4;
          for (let i = i0; i < i1; i++) store<f32>(d + <usize>i * 4, load<f32>(s0 + (<usize>i * <usize>srcRow + <usize>j) * 4));
        }
      }
    }
  }
}
