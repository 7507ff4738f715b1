// Pooling gradients in WebAssembly SIMD on NHWC tensors in tfjs's wasm heap, four channels per
// vector. Both give results bit-identical to tfjs's cpu backend: the same products and the same
// order of additions into each input pixel.

/**
 * MaxPoolGrad: each output's gradient goes to the first maximum of its window in row-major order
 * (a later tap must be strictly greater, as PyTorch and tfjs pick it); windows add in output
 * order. dx is zeroed here; windows are clipped to the h x w plane (padding never wins).
 */
export function maxPoolGrad(
  x: usize,
  dy: usize,
  dx: usize,
  n: i32,
  h: i32,
  w: i32,
  c: i32,
  oh: i32,
  ow: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  padTop: i32,
  padLeft: i32,
): void {
  memory.fill(dx, 0, (<usize>n * <usize>h * <usize>w * <usize>c) << 2);
  const vec = c & ~3;
  const lanes = i32x4(0, 1, 2, 3);
  for (let img = 0; img < n; img++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - padTop;
      const ya = max(y0, 0);
      const yb = min(y0 + fh, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - padLeft;
        const xa = max(x0, 0);
        const xb = min(x0 + fw, w);
        const g = dy + ((<usize>((img * oh + oy) * ow + ox) * <usize>c) << 2);
        for (let ch = 0; ch < vec; ch += 4) {
          let best = f32x4.splat(-Infinity);
          let at = i32x4.splat(-1);
          for (let y = ya; y < yb; y++) {
            for (let xx = xa; xx < xb; xx++) {
              const e = ((img * h + y) * w + xx) * c + ch;
              const v = v128.load(x + (<usize>e << 2));
              const gt = f32x4.gt(v, best);
              best = v128.bitselect(v, best, gt);
              at = v128.bitselect(i32x4.add(i32x4.splat(e), lanes), at, gt);
            }
          }
          const gv = v128.load(g + (<usize>ch << 2));
          addAt(dx, i32x4.extract_lane(at, 0), f32x4.extract_lane(gv, 0));
          addAt(dx, i32x4.extract_lane(at, 1), f32x4.extract_lane(gv, 1));
          addAt(dx, i32x4.extract_lane(at, 2), f32x4.extract_lane(gv, 2));
          addAt(dx, i32x4.extract_lane(at, 3), f32x4.extract_lane(gv, 3));
        }
        for (let ch = vec; ch < c; ch++) {
          let best: f32 = -Infinity;
          let at = -1;
          for (let y = ya; y < yb; y++) {
            for (let xx = xa; xx < xb; xx++) {
              const e = ((img * h + y) * w + xx) * c + ch;
              const v = load<f32>(x + (<usize>e << 2));
              if (v > best) {
                best = v;
                at = e;
              }
            }
          }
          addAt(dx, at, load<f32>(g + (<usize>ch << 2)));
        }
      }
    }
  }
}

/** dx[at] += v, skipped for at < 0 (a window with no finite maximum). */
// @ts-ignore: decorator
@inline
function addAt(dx: usize, at: i32, v: f32): void {
  if (at >= 0) {
    const p = dx + (<usize>at << 2);
    store<f32>(p, load<f32>(p) + v);
  }
}

/**
 * AvgPoolGrad for windows that tile the plane without overlap or padding (stride = filter size):
 * every pixel of a window gets its output's gradient times `scale` (1 / window size), pixels no
 * window covers get 0.
 */
export function avgPoolGradTiled(dy: usize, dx: usize, n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32, fh: i32, fw: i32, scale: f32): void {
  memory.fill(dx, 0, (<usize>n * <usize>h * <usize>w * <usize>c) << 2);
  const vec = c & ~3;
  const s = f32x4.splat(scale);
  const zero = f32x4.splat(0);
  for (let img = 0; img < n; img++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const g = dy + ((<usize>((img * oh + oy) * ow + ox) * <usize>c) << 2);
        for (let y = oy * fh; y < (oy + 1) * fh; y++) {
          for (let xx = ox * fw; xx < (ox + 1) * fw; xx++) {
            const p = dx + ((<usize>((img * h + y) * w + xx) * <usize>c) << 2);
            // 0 + g * scale, as the cpu backend sums it (a -0 product becomes +0).
            for (let ch = 0; ch < vec; ch += 4) v128.store(p + (<usize>ch << 2), f32x4.add(zero, f32x4.mul(v128.load(g + (<usize>ch << 2)), s)));
            for (let ch = vec; ch < c; ch++) store<f32>(p + (<usize>ch << 2), <f32>0 + load<f32>(g + (<usize>ch << 2)) * scale);
          }
        }
      }
    }
  }
}
