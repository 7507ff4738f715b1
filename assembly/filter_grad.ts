// Convolution filter gradient, dW[kh,kw,ci,co] = sum over pixels of x[.., ci] * dy[.., co], as a
// register-tiled outer-product GEMM in WebAssembly SIMD. It reads x and dy in their NHWC layout, so
// nothing is packed or transposed per call (XNNPACK packs one GEMM operand per call at 6-10 ns/float).

/** First free byte after the module's static data; the host lays its buffers out from here. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Accumulates one 4 (ci) x 8 (co) tile over output rows [r0, r1). x: padded NHWC [n, hp, wp, ci],
 * dy: [n, oh, ow, co], out: the tile's first float in dW; byte strides precomputed by the caller.
 */
// @ts-ignore: decorator
@inline
function tile(x: usize, dy: usize, out: usize, r0: i32, r1: i32, oh: i32, ow: i32, xRowBytes: usize, xImageBytes: usize, xStepBytes: usize, dyRowBytes: usize, dyPixelBytes: usize, outRowBytes: usize, sh: i32): void {
  let c00 = v128.load(out);
  let c01 = v128.load(out, 16);
  let c10 = v128.load(out + outRowBytes);
  let c11 = v128.load(out + outRowBytes, 16);
  let c20 = v128.load(out + 2 * outRowBytes);
  let c21 = v128.load(out + 2 * outRowBytes, 16);
  let c30 = v128.load(out + 3 * outRowBytes);
  let c31 = v128.load(out + 3 * outRowBytes, 16);
  for (let r = r0; r < r1; r++) {
    const img = r / oh;
    const row = r - img * oh;
    let xp = x + <usize>img * xImageBytes + <usize>(row * sh) * xRowBytes;
    let dp = dy + <usize>r * dyRowBytes;
    for (let j = 0; j < ow; j++) {
      const b0 = v128.load(dp);
      const b1 = v128.load(dp, 16);
      const a0 = v128.load32_splat(xp);
      const a1 = v128.load32_splat(xp, 4);
      const a2 = v128.load32_splat(xp, 8);
      const a3 = v128.load32_splat(xp, 12);
      c00 = f32x4.add(c00, f32x4.mul(a0, b0));
      c01 = f32x4.add(c01, f32x4.mul(a0, b1));
      c10 = f32x4.add(c10, f32x4.mul(a1, b0));
      c11 = f32x4.add(c11, f32x4.mul(a1, b1));
      c20 = f32x4.add(c20, f32x4.mul(a2, b0));
      c21 = f32x4.add(c21, f32x4.mul(a2, b1));
      c30 = f32x4.add(c30, f32x4.mul(a3, b0));
      c31 = f32x4.add(c31, f32x4.mul(a3, b1));
      xp += xStepBytes;
      dp += dyPixelBytes;
    }
  }
  v128.store(out, c00);
  v128.store(out, c01, 16);
  v128.store(out + outRowBytes, c10);
  v128.store(out + outRowBytes, c11, 16);
  v128.store(out + 2 * outRowBytes, c20);
  v128.store(out + 2 * outRowBytes, c21, 16);
  v128.store(out + 3 * outRowBytes, c30);
  v128.store(out + 3 * outRowBytes, c31, 16);
}

/**
 * dW ([kh, kw, ci, co], zeroed here) of a convolution with strides (sh, sw) whose input x is
 * already padded to [n, hp, wp, ci] and whose output gradient is dy [n, oh, ow, co]. ci must be a
 * multiple of 4 and co of 8 (the host pads channels with zeros). Output rows are taken `rowBlock`
 * at a time so the x and dy rows in use stay in cache across all taps and tiles.
 */
export function filterGrad(x: usize, dy: usize, out: usize, n: i32, hp: i32, wp: i32, ci: i32, oh: i32, ow: i32, co: i32, kh: i32, kw: i32, sh: i32, sw: i32, rowBlock: i32): void {
  memory.fill(out, 0, <usize>(kh * kw * ci * co) << 2);
  const xRowBytes = <usize>(wp * ci) << 2;
  const xImageBytes = <usize>hp * xRowBytes;
  const xStepBytes = <usize>(sw * ci) << 2;
  const dyPixelBytes = <usize>co << 2;
  const dyRowBytes = <usize>ow * dyPixelBytes;
  const outRowBytes = <usize>co << 2;
  const rows = n * oh;
  for (let r0 = 0; r0 < rows; r0 += rowBlock) {
    const r1 = min(r0 + rowBlock, rows);
    for (let th = 0; th < kh; th++) {
      for (let tw = 0; tw < kw; tw++) {
        const xTap = x + <usize>th * xRowBytes + (<usize>(tw * ci) << 2);
        const outTap = out + (<usize>((th * kw + tw) * ci * co) << 2);
        for (let c = 0; c < ci; c += 4) {
          for (let o = 0; o < co; o += 8) {
            tile(xTap + (<usize>c << 2), dy + (<usize>o << 2), outTap + (<usize>(c * co + o) << 2), r0, r1, oh, ow, xRowBytes, xImageBytes, xStepBytes, dyRowBytes, dyPixelBytes, outRowBytes, sh);
          }
        }
      }
    }
  }
}
