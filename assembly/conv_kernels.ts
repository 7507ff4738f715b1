// Convolution kernels in WebAssembly SIMD, on tensors in the memory of tfjs's wasm backend (the
// module imports it): forward convolutions and filter gradients, direct and Winograd, plus
// BatchNorm's per-channel passes. Every GEMM runs on a register tile of 4 x 8 f32x4 accumulators
// that reads NHWC tensors where they lie or small panels packed per block. Through XNNPACK the
// filter gradient needed transposes and an im2col matrix, and XNNPACK packs one GEMM operand per
// call (6-10 ns per float); these run 1.2-3.5x faster on DenseNet and U-Net shapes. The two tiles
// (`filterTile`: pixels into resident dW rows; `convTile`: taps and channels into resident output
// pixels) share their inner step but not their loops: one generic tile with three loop levels
// measured 13-22% slower on DenseNet and U-Net shapes, so they stay separate.
// This file is the module's entry: the pooling gradients live beside it and are exported here.

export { avgPoolGradTiled, maxPoolGrad } from './pool_kernels';
export { padPlane } from './pad_kernels';
export { elementwise, transposeTiles } from './layout_kernels';
import { rectify, rectify4 } from './layout_kernels';

/**
 * Element offset (in pixels) of window q's first pixel: windows are counted over images of
 * rows x cols, each stepping (sh, sw) pixels in an h x w plane.
 */
// @ts-ignore: decorator
@inline
function windowStart(q: i32, rows: i32, cols: i32, h: i32, w: i32, sh: i32, sw: i32): i32 {
  const img = q / (rows * cols);
  const rem = q - img * (rows * cols);
  const row = rem / cols;
  return (img * h + row * sh) * w + (rem - row * cols) * sw;
}

/**
 * Bytes between a Winograd point's panel rows of `tiles` tiles x `channels`: one cache line past
 * their data, so the 16 rows a tile's transform writes one stride apart do not share an L1 set (a
 * multiple of 4 KiB, e.g. 16 tiles x 128 channels, put all 16 in one set, past its ways).
 * `winogradScratchFloats` (src/engine/kernels/winograd.ts) counts these 16 floats per row.
 */
// @ts-ignore: decorator
@inline
function winogradRowBytes(tiles: i32, channels: i32): usize {
  return <usize>(tiles * channels + 16) << 2;
}

/**
 * Bytes between a Winograd patch's rows, in x and in the edge buffer alike: a row of the plane,
 * or of 4 pixels when the plane is narrower (then every patch overhangs and is read from the buffer).
 */
// @ts-ignore: decorator
@inline
function patchRowBytes(iw: i32, ci: i32): usize {
  return <usize>(max(iw, 4) * ci) << 2;
}

/**
 * The first byte of the 4x4 input patch under 2x2 tile q (rows `patchRowBytes` apart, columns ci
 * floats): in x (n images of ih x iw pixels of ci floats, read as if padded by `top` rows and
 * `left` columns of zeros) when the whole patch lies inside, else in `edge` (3 patch rows plus
 * 4 * ci floats), with zeros where it overhangs. The host so makes no padded copy of x.
 */
function tilePatch(x: usize, q: i32, tilesY: i32, tilesX: i32, ih: i32, iw: i32, ci: i32, top: i32, left: i32, edge: usize): usize {
  const img = q / (tilesY * tilesX);
  const rem = q - img * (tilesY * tilesX);
  const ty = rem / tilesX;
  const y0 = 2 * ty - top;
  const x0 = 2 * (rem - ty * tilesX) - left;
  const ciBytes = <usize>ci << 2;
  const rowBytes = <usize>iw * ciBytes;
  const image = x + <usize>(img * ih) * rowBytes;
  if (y0 >= 0 && x0 >= 0 && y0 + 4 <= ih && x0 + 4 <= iw) return image + <usize>y0 * rowBytes + <usize>x0 * ciBytes;
  for (let r = 0; r < 4; r++) {
    for (let s = 0; s < 4; s++) {
      const dst = edge + <usize>r * patchRowBytes(iw, ci) + <usize>s * ciBytes;
      const iy = y0 + r;
      const ix = x0 + s;
      if (iy >= 0 && iy < ih && ix >= 0 && ix < iw) memory.copy(dst, image + <usize>iy * rowBytes + <usize>ix * ciBytes, ciBytes);
      else memory.fill(dst, 0, ciBytes);
    }
  }
  return edge;
}

/** Whether 2x2 tile q's second column (bit 1) and second row (bit 2) lie inside an oh x ow plane. */
// @ts-ignore: decorator
@inline
function tileInside(q: i32, tilesY: i32, tilesX: i32, oh: i32, ow: i32): i32 {
  const rem = q % (tilesY * tilesX);
  const ty = rem / tilesX;
  return (2 * (rem - ty * tilesX) + 1 < ow ? 1 : 0) | (2 * ty + 1 < oh ? 2 : 0);
}

/**
 * Accumulates one 4 (ci) x 8 (co) tile of dW over a block of `rows` output rows of `ow` pixels:
 * x points at the tile's packed input panel (4 floats per input pixel, `xRowBytes` per panel row,
 * stepping `xStepBytes` per output pixel), dy at its packed gradient panel (8 floats per pixel,
 * contiguous), out at the tile's first float in dW (rows of co floats, `outRowBytes` apart).
 */
// @ts-ignore: decorator
@inline
function filterTile(x: usize, dy: usize, out: usize, rows: i32, ow: i32, xRowBytes: usize, xStepBytes: usize, outRowBytes: usize): void {
  let c00 = v128.load(out);
  let c01 = v128.load(out, 16);
  let c10 = v128.load(out + outRowBytes);
  let c11 = v128.load(out + outRowBytes, 16);
  let c20 = v128.load(out + 2 * outRowBytes);
  let c21 = v128.load(out + 2 * outRowBytes, 16);
  let c30 = v128.load(out + 3 * outRowBytes);
  let c31 = v128.load(out + 3 * outRowBytes, 16);
  let dp = dy;
  for (let r = 0; r < rows; r++) {
    let xp = x + <usize>r * xRowBytes;
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
      dp += 32;
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
 * at a time; each block's dy is packed into 8-channel panels and the x rows it reads into
 * 4-channel panels (one per output row and filter row), in `scratch`
 * (rowBlock * (ow * co + kh * wp * ci) floats), so every tile streams contiguous memory. x's
 * pixels are `xStride` floats apart (ci for a dense tensor).
 */
export function filterGrad(x: usize, dy: usize, out: usize, scratch: usize, n: i32, hp: i32, wp: i32, ci: i32, oh: i32, ow: i32, co: i32, kh: i32, kw: i32, sh: i32, sw: i32, rowBlock: i32, xStride: i32): void {
  memory.fill(out, 0, <usize>(kh * kw * ci * co) << 2);
  const xImageRowBytes = <usize>(wp * xStride) << 2;
  const panelRowBytes = <usize>wp << 4;
  const xStepBytes = <usize>sw << 4;
  const outRowBytes = <usize>co << 2;
  const rows = n * oh;
  for (let r0 = 0; r0 < rows; r0 += rowBlock) {
    const count = min(rowBlock, rows - r0);
    const pixels = count * ow;
    // dyPanel[o / 8][pixel][8]
    const dyPanel = scratch;
    for (let o = 0; o < co; o += 8) {
      let src = dy + (<usize>(r0 * ow * co + o) << 2);
      let dst = dyPanel + (<usize>(o * pixels) << 2);
      for (let p = 0; p < pixels; p++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += outRowBytes;
        dst += 32;
      }
    }
    // xPanel[c / 4][output row][filter row][wp][4]
    const xPanel = dyPanel + (<usize>(pixels * co) << 2);
    const panelBytes = <usize>(count * kh) * panelRowBytes;
    for (let r = 0; r < count; r++) {
      // The padded input row under output row r0 + r (an output row is a window of one pixel column).
      const xRow = windowStart(r0 + r, oh, 1, hp, 1, sh, 0);
      for (let th = 0; th < kh; th++) {
        const srcRow = x + <usize>(xRow + th) * xImageRowBytes;
        const dstRow = xPanel + <usize>(r * kh + th) * panelRowBytes;
        for (let c = 0; c < ci; c += 4) {
          let src = srcRow + (<usize>c << 2);
          let dst = dstRow + <usize>(c >> 2) * panelBytes;
          for (let j = 0; j < wp; j++) {
            v128.store(dst, v128.load(src));
            src += <usize>xStride << 2;
            dst += 16;
          }
        }
      }
    }
    for (let th = 0; th < kh; th++) {
      for (let tw = 0; tw < kw; tw++) {
        const xTap = xPanel + <usize>th * panelRowBytes + (<usize>tw << 4);
        const outTap = out + (<usize>((th * kw + tw) * ci * co) << 2);
        for (let c = 0; c < ci; c += 4) {
          for (let o = 0; o < co; o += 8) {
            filterTile(xTap + <usize>(c >> 2) * panelBytes, dyPanel + (<usize>(o * pixels) << 2), outTap + (<usize>(c * co + o) << 2), count, ow, <usize>kh * panelRowBytes, xStepBytes, outRowBytes);
          }
        }
      }
    }
  }
}

/**
 * One 4-pixel x 8-channel output tile of a forward convolution: y_i[0..8] = sum over taps and
 * input channels of x_i[tap, c] * w[tap, c, 0..8], where x0..x3 point at each pixel's window in the
 * padded input (pixels xPixBytes apart, rows xRowBytes) and w at this tile's packed filter panel
 * ([kh, kw, ci] x 8 floats, contiguous).
 * `accumulate` adds the sums to y instead (y + sum, the same float as a separate add).
 */
// @ts-ignore: decorator
@inline
function convTile(x0: usize, x1: usize, x2: usize, x3: usize, w: usize, y0: usize, y1: usize, y2: usize, y3: usize, kh: i32, kw: i32, ci: i32, xPixBytes: usize, xRowBytes: usize, accumulate: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  let wp = w;
  const ciBytes = <usize>ci << 2;
  for (let th = 0; th < kh; th++) {
    for (let tw = 0; tw < kw; tw++) {
      let off = <usize>th * xRowBytes + <usize>tw * xPixBytes;
      const end = off + ciBytes;
      while (off < end) {
        const b0 = v128.load(wp);
        const b1 = v128.load(wp, 16);
        const a0 = v128.load32_splat(x0 + off);
        const a1 = v128.load32_splat(x1 + off);
        const a2 = v128.load32_splat(x2 + off);
        const a3 = v128.load32_splat(x3 + off);
        c00 = f32x4.add(c00, f32x4.mul(a0, b0));
        c01 = f32x4.add(c01, f32x4.mul(a0, b1));
        c10 = f32x4.add(c10, f32x4.mul(a1, b0));
        c11 = f32x4.add(c11, f32x4.mul(a1, b1));
        c20 = f32x4.add(c20, f32x4.mul(a2, b0));
        c21 = f32x4.add(c21, f32x4.mul(a2, b1));
        c30 = f32x4.add(c30, f32x4.mul(a3, b0));
        c31 = f32x4.add(c31, f32x4.mul(a3, b1));
        off += 4;
        wp += 32;
      }
    }
  }
  if (accumulate) {
    c00 = f32x4.add(v128.load(y0), c00);
    c01 = f32x4.add(v128.load(y0, 16), c01);
    c10 = f32x4.add(v128.load(y1), c10);
    c11 = f32x4.add(v128.load(y1, 16), c11);
    c20 = f32x4.add(v128.load(y2), c20);
    c21 = f32x4.add(v128.load(y2, 16), c21);
    c30 = f32x4.add(v128.load(y3), c30);
    c31 = f32x4.add(v128.load(y3, 16), c31);
  }
  v128.store(y0, c00);
  v128.store(y0, c01, 16);
  v128.store(y1, c10);
  v128.store(y1, c11, 16);
  v128.store(y2, c20);
  v128.store(y2, c21, 16);
  v128.store(y3, c30);
  v128.store(y3, c31, 16);
}

/**
 * Forward NHWC convolution y [n, oh, ow, co] = x (padded to [n, hp, wp, ci]) * w [kh, kw, ci, co],
 * strides (sh, sw). `scratch` holds the filter packed into 8-channel panels (kh*kw*ci*co8 floats,
 * co8 = co rounded up to 8), then `block` pixel offsets and a 32-byte sink for the lanes of the
 * last tile past the end. y rows are `yStride` floats apart (co rounded up to 8 when co is not).
 * `accumulate` adds the convolution to y instead of writing it. x's pixels are `xStride` floats
 * apart (ci for a dense tensor; more to read the leading channels of a wider one).
 */
export function conv(x: usize, w: usize, y: usize, scratch: usize, n: i32, hp: i32, wp: i32, ci: i32, oh: i32, ow: i32, co: i32, yStride: i32, kh: i32, kw: i32, sh: i32, sw: i32, block: i32, accumulate: bool, xStride: i32): void {
  const k = kh * kw * ci;
  const co8 = (co + 7) & ~7;
  // Pack w into panels [co8 / 8][k][8], zero past co.
  for (let o = 0; o < co8; o += 8) {
    const panel = scratch + (<usize>(o * k) << 2);
    for (let r = 0; r < k; r++) {
      for (let j = 0; j < 8; j++) {
        store<f32>(panel + (<usize>(r * 8 + j) << 2), o + j < co ? load<f32>(w + (<usize>(r * co + o + j) << 2)) : 0);
      }
    }
  }
  const table = scratch + (<usize>(k * co8) << 2);
  const sink = table + (<usize>block << 2);
  const xRowBytes = <usize>(wp * xStride) << 2;
  const pixels = n * oh * ow;
  for (let p0 = 0; p0 < pixels; p0 += block) {
    const count = min(block, pixels - p0);
    const count4 = (count + 3) & ~3;
    for (let i = 0; i < count4; i++) {
      store<u32>(table + (<usize>i << 2), windowStart(min(p0 + i, pixels - 1), oh, ow, hp, wp, sh, sw) * xStride * 4);
    }
    for (let o = 0; o < co8; o += 8) {
      const panel = scratch + (<usize>(o * k) << 2);
      for (let t = 0; t < count4; t += 4) {
        const q = p0 + t;
        const yt = y + (<usize>(q * yStride + o) << 2);
        const yRow = <usize>yStride << 2;
        convTile(
          x + load<u32>(table + (<usize>t << 2)),
          x + load<u32>(table + (<usize>t << 2), 4),
          x + load<u32>(table + (<usize>t << 2), 8),
          x + load<u32>(table + (<usize>t << 2), 12),
          panel,
          yt,
          t + 1 < count ? yt + yRow : sink,
          t + 2 < count ? yt + 2 * yRow : sink,
          t + 3 < count ? yt + 3 * yRow : sink,
          kh,
          kw,
          ci,
          <usize>xStride << 2,
          xRowBytes,
          accumulate,
        );
      }
    }
  }
}

/** Rows per block of the per-channel passes: about 64 KiB of floats, so a block stays in L2 across channel groups. */
// @ts-ignore: decorator
@inline
function channelBlockRows(channels: i32): i32 {
  return max(1, 16384 / channels);
}

/**
 * u, or with `relu` u where v > 0 and +0 elsewhere: ReLU's gradient folded into BatchNorm's
 * backward passes. tfjs's own (u * Step(v)) gives -0 for negative u; sums come out the same.
 */
// @ts-ignore: decorator
@inline
function maskedU(u: v128, v: v128, relu: bool): v128 {
  return relu ? v128.and(u, f32x4.gt(v, f32x4.splat(0))) : u;
}

/** The scalar form of `maskedU`. */
// @ts-ignore: decorator
@inline
function maskedUScalar(u: f32, v: f32, relu: bool): f32 {
  return relu && !(v > 0) ? 0 : u;
}

/**
 * Per-channel sums over `rows` rows of `channels` floats, in float64: out[c] = sum of u[., c],
 * out[channels + c] = sum of u[., c] * v[., c] (v = u gives sums of squares); with `relu`, u is
 * masked by v > 0 first (`maskedU`). Four channels at a time down a block of rows, as two f64x2
 * pairs each.
 */
export function channelSums(u: usize, v: usize, rows: i32, channels: i32, out: usize, relu: bool): void {
  memory.fill(out, 0, <usize>channels << 4);
  const rowBytes = <usize>channels << 2;
  const step = channelBlockRows(channels);
  const vecChannels = channels & ~3;
  for (let r0 = 0; r0 < rows; r0 += step) {
    const count = min(step, rows - r0);
    const base = <usize>r0 * rowBytes;
    for (let c = 0; c < vecChannels; c += 4) {
      let s0 = f64x2.splat(0);
      let s1 = s0;
      let q0 = s0;
      let q1 = s0;
      let up = u + base + (<usize>c << 2);
      let vp = v + base + (<usize>c << 2);
      for (let r = 0; r < count; r++) {
        const b = v128.load(vp);
        const a = maskedU(v128.load(up), b, relu);
        const a0 = f64x2.promote_low_f32x4(a);
        const a1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1));
        const b0 = f64x2.promote_low_f32x4(b);
        const b1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 0, 1));
        s0 = f64x2.add(s0, a0);
        s1 = f64x2.add(s1, a1);
        q0 = f64x2.add(q0, f64x2.mul(a0, b0));
        q1 = f64x2.add(q1, f64x2.mul(a1, b1));
        up += rowBytes;
        vp += rowBytes;
      }
      const sp = out + (<usize>c << 3);
      const qp = out + (<usize>(channels + c) << 3);
      v128.store(sp, f64x2.add(v128.load(sp), s0));
      v128.store(sp, f64x2.add(v128.load(sp, 16), s1), 16);
      v128.store(qp, f64x2.add(v128.load(qp), q0));
      v128.store(qp, f64x2.add(v128.load(qp, 16), q1), 16);
    }
    for (let c = vecChannels; c < channels; c++) {
      let s: f64 = 0;
      let q: f64 = 0;
      for (let r = 0; r < count; r++) {
        const at = base + <usize>r * rowBytes + (<usize>c << 2);
        const b = load<f32>(v + at);
        const a = <f64>maskedUScalar(load<f32>(u + at), b, relu);
        s += a;
        q += a * <f64>b;
      }
      store<f64>(out + (<usize>c << 3), load<f64>(out + (<usize>c << 3)) + s);
      store<f64>(out + (<usize>(channels + c) << 3), load<f64>(out + (<usize>(channels + c) << 3)) + q);
    }
  }
}

/**
 * out = a * (u - s) + b * v + c per channel, over `rows` rows of `channels` floats; coef holds the
 * float32 vectors a, s, b, c of `channels` each; `relu` masks u as `channelSums` does. BatchNorm's
 * forward is (a = 1/std, s = mean, b = c = 0) and its backward (s = 0) the same pass. With
 * `rectStride` > 0, ReLU of out also goes to rows `rectStride` floats apart from `rect` (the
 * elementwise kernel's ReLU, to the bit): a following ReLU and a copy into a wider tensor's
 * channels cost no passes of their own.
 */
export function channelAffine(
  u: usize,
  v: usize,
  out: usize,
  rows: i32,
  channels: i32,
  coef: usize,
  relu: bool,
  rect: usize,
  rectStride: i32,
): void {
  const rectBytes = <usize>rectStride << 2;
  const rowBytes = <usize>channels << 2;
  const step = channelBlockRows(channels);
  const vecChannels = channels & ~3;
  const coefBytes = <usize>channels << 2;
  for (let r0 = 0; r0 < rows; r0 += step) {
    const count = min(step, rows - r0);
    const base = <usize>r0 * rowBytes;
    for (let c = 0; c < vecChannels; c += 4) {
      const cp = coef + (<usize>c << 2);
      const a = v128.load(cp);
      const s = v128.load(cp + coefBytes);
      const b = v128.load(cp + 2 * coefBytes);
      const k = v128.load(cp + 3 * coefBytes);
      let at = base + (<usize>c << 2);
      let rp = rect + <usize>r0 * rectBytes + (<usize>c << 2);
      for (let r = 0; r < count; r++) {
        const vv = v128.load(v + at);
        const y = f32x4.add(f32x4.add(f32x4.mul(a, f32x4.sub(maskedU(v128.load(u + at), vv, relu), s)), f32x4.mul(b, vv)), k);
        v128.store(out + at, y);
        if (rectStride > 0) v128.store(rp, rectify4(y));
        at += rowBytes;
        rp += rectBytes;
      }
    }
    for (let c = vecChannels; c < channels; c++) {
      const cp = coef + (<usize>c << 2);
      const a = load<f32>(cp);
      const s = load<f32>(cp + coefBytes);
      const b = load<f32>(cp + 2 * coefBytes);
      const k = load<f32>(cp + 3 * coefBytes);
      for (let r = 0; r < count; r++) {
        const at = base + <usize>r * rowBytes + (<usize>c << 2);
        const vv = load<f32>(v + at);
        const y = a * (maskedUScalar(load<f32>(u + at), vv, relu) - s) + b * vv + k;
        store<f32>(out + at, y);
        if (rectStride > 0) store<f32>(rect + <usize>(r0 + r) * rectBytes + (<usize>c << 2), rectify(y));
      }
    }
  }
}

/**
 * 3x3 stride-1 convolution by Winograd's F(2x2, 3x3): per 2x2 output tile and channel pair, 16
 * products of a transformed 4x4 input patch and a transformed filter instead of 36 multiply-adds.
 * x is [n, ih, iw, ci], read as padded by `top` and `left` (`tilePatch`), ci a multiple of 4
 * (zeros past the filter's `wci` channels); w is [3, 3, wci, co]; y rows are `yStride` floats
 * apart (>= co rounded up to 8). Tiles go `block` (a multiple of 4) at a time: transform their
 * inputs, run 16 GEMMs on `convTile`, transform the outputs. `scratch` holds
 * 16 * (co8 * ci + block * (ci + co8) + 32) + (3 * max(iw, 4) + 4) * ci floats. Allocates nothing (the memory is tfjs's).
 */
export function winograd(x: usize, w: usize, y: usize, scratch: usize, n: i32, ih: i32, iw: i32, ci: i32, wci: i32, oh: i32, ow: i32, co: i32, yStride: i32, block: i32, top: i32, left: i32): void {
  const co8 = (co + 7) & ~7;
  const tilesY = (oh + 1) >> 1;
  const tilesX = (ow + 1) >> 1;
  const tiles = n * tilesY * tilesX;
  // U[k][o / 8][c][8] = (G g G^T)[k], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], zero past wci and co.
  const u = scratch;
  const uBytes = <usize>(co8 * ci) << 2;
  memory.fill(u, 0, 16 * uBytes);
  const tap = <usize>(wci * co) << 2;
  for (let c = 0; c < wci; c++) {
    for (let o = 0; o < co; o++) {
      const g = w + (<usize>(c * co + o) << 2);
      const at = u + (<usize>(((o >> 3) * ci + c) * 8 + (o & 7)) << 2);
      for (let j: usize = 0; j < 3; j++) {
        // Column j of t = G g, then row i of U = t G^T is filled from the columns below.
        const g0 = load<f32>(g + j * tap);
        const g1 = load<f32>(g + (3 + j) * tap);
        const g2 = load<f32>(g + (6 + j) * tap);
        store<f32>(at + j * uBytes, g0);
        store<f32>(at + (4 + j) * uBytes, 0.5 * (g0 + g1 + g2));
        store<f32>(at + (8 + j) * uBytes, 0.5 * (g0 - g1 + g2));
        store<f32>(at + (12 + j) * uBytes, g2);
      }
      for (let i: usize = 0; i < 16; i += 4) {
        // Row i: [t0, t1, t2, 0] (stored above at columns 0..2) becomes [t0, (t0+t1+t2)/2, (t0-t1+t2)/2, t2].
        const t0 = load<f32>(at + i * uBytes);
        const t1 = load<f32>(at + (i + 1) * uBytes);
        const t2 = load<f32>(at + (i + 2) * uBytes);
        store<f32>(at + (i + 1) * uBytes, 0.5 * (t0 + t1 + t2));
        store<f32>(at + (i + 2) * uBytes, 0.5 * (t0 - t1 + t2));
        store<f32>(at + (i + 3) * uBytes, t2);
      }
    }
  }
  const v = u + 16 * uBytes;
  const vBytes = winogradRowBytes(block, ci);
  const m = v + 16 * vBytes;
  const mBytes = winogradRowBytes(block, co8);
  const edge = m + 16 * mBytes;
  const ciBytes = <usize>ci << 2;
  const xRow = patchRowBytes(iw, ci);
  const yRow = <usize>co8 << 2;
  for (let q0 = 0; q0 < tiles; q0 += block) {
    const count = min(block, tiles - q0);
    const count4 = (count + 3) & ~3;
    // V[k][tile][c] = (B^T d B)[k], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
    for (let t = 0; t < count4; t++) {
      const patch = tilePatch(x, min(q0 + t, tiles - 1), tilesY, tilesX, ih, iw, ci, top, left, edge);
      const out = v + <usize>t * ciBytes;
      for (let c: usize = 0; c < ciBytes; c += 16) {
        const p = patch + c;
        const r0 = p;
        const r1 = p + xRow;
        const r2 = p + 2 * xRow;
        const r3 = p + 3 * xRow;
        inputRow(out + c, 0, vBytes, ciBytes, r0, r2, -1, false);
        inputRow(out + c, 4, vBytes, ciBytes, r1, r2, 1, false);
        inputRow(out + c, 8, vBytes, ciBytes, r2, r1, -1, false);
        inputRow(out + c, 12, vBytes, ciBytes, r1, r3, -1, false);
      }
    }
    // M[k][tile][o] = V[k][tile][.] U[k][.][o]
    for (let k: usize = 0; k < 16; k++) {
      const vk = v + k * vBytes;
      const mk = m + k * mBytes;
      for (let o = 0; o < co8; o += 8) {
        const panel = u + k * uBytes + (<usize>(o * ci) << 2);
        for (let t = 0; t < count4; t += 4) {
          const xt = vk + <usize>t * ciBytes;
          const yt = mk + (<usize>(t * co8 + o) << 2);
          convTile(xt, xt + ciBytes, xt + 2 * ciBytes, xt + 3 * ciBytes, panel, yt, yt + yRow, yt + 2 * yRow, yt + 3 * yRow, 1, 1, ci, ciBytes, 0, false);
        }
      }
    }
    // y = A^T M A per tile, A^T = [1 1 1 0; 0 1 -1 -1], written where inside the output.
    const yPix = <usize>yStride << 2;
    const yLine = <usize>ow * yPix;
    for (let t = 0; t < count; t++) {
      const inside = tileInside(q0 + t, tilesY, tilesX, oh, ow);
      const right = (inside & 1) != 0;
      const below = (inside & 2) != 0;
      const y00 = y + <usize>windowStart(q0 + t, tilesY, tilesX, oh, ow, 2, 2) * yPix;
      const mt = m + <usize>t * yRow;
      for (let o: usize = 0; o < yRow; o += 16) {
        const mp = mt + o;
        // a = rows 0 + 1 + 2 and b = rows 1 - 2 - 3 of M, per column s.
        const a0 = outA(mp, mBytes, 0), a1 = outA(mp, mBytes, 1), a2 = outA(mp, mBytes, 2), a3 = outA(mp, mBytes, 3);
        v128.store(y00 + o, f32x4.add(f32x4.add(a0, a1), a2));
        if (right) v128.store(y00 + yPix + o, f32x4.sub(f32x4.sub(a1, a2), a3));
        if (below) {
          const b0 = outB(mp, mBytes, 0), b1 = outB(mp, mBytes, 1), b2 = outB(mp, mBytes, 2), b3 = outB(mp, mBytes, 3);
          v128.store(y00 + yLine + o, f32x4.add(f32x4.add(b0, b1), b2));
          if (right) v128.store(y00 + yLine + yPix + o, f32x4.sub(f32x4.sub(b1, b2), b3));
        }
      }
    }
  }
}

/**
 * Row k/4 of an input transform B^T d B for 4 channels: e_s = a[s] + sign * b[s] over the patch
 * columns s (patch rows a and b), then [e0 - e2, e1 + e2, e2 - e1, e1 - e3] into V[k..k+3]. F(2x2,
 * 3x3) and F(3x3, 2x2) share B^T but for the sign of its last row (`lastReversed`: e3 - e1).
 */
// @ts-ignore: decorator
@inline
function inputRow(out: usize, k: usize, vBytes: usize, ciBytes: usize, a: usize, b: usize, sign: i32, lastReversed: bool): void {
  const sg = f32x4.splat(<f32>sign);
  const e0 = f32x4.add(v128.load(a), f32x4.mul(sg, v128.load(b)));
  const e1 = f32x4.add(v128.load(a + ciBytes), f32x4.mul(sg, v128.load(b + ciBytes)));
  const e2 = f32x4.add(v128.load(a + 2 * ciBytes), f32x4.mul(sg, v128.load(b + 2 * ciBytes)));
  const e3 = f32x4.add(v128.load(a + 3 * ciBytes), f32x4.mul(sg, v128.load(b + 3 * ciBytes)));
  v128.store(out + k * vBytes, f32x4.sub(e0, e2));
  v128.store(out + (k + 1) * vBytes, f32x4.add(e1, e2));
  v128.store(out + (k + 2) * vBytes, f32x4.sub(e2, e1));
  v128.store(out + (k + 3) * vBytes, lastReversed ? f32x4.sub(e3, e1) : f32x4.sub(e1, e3));
}

/** Column s of the sum of M's rows 0, 1 and 2. */
// @ts-ignore: decorator
@inline
function outA(mp: usize, mBytes: usize, s: usize): v128 {
  return f32x4.add(f32x4.add(v128.load(mp + s * mBytes), v128.load(mp + (4 + s) * mBytes)), v128.load(mp + (8 + s) * mBytes));
}

/** Column s of M's row 1 minus rows 2 and 3. */
// @ts-ignore: decorator
@inline
function outB(mp: usize, mBytes: usize, s: usize): v128 {
  return f32x4.sub(f32x4.sub(v128.load(mp + (4 + s) * mBytes), v128.load(mp + (8 + s) * mBytes)), v128.load(mp + (12 + s) * mBytes));
}

/**
 * Filter gradient of a 3x3 stride-1 convolution by Winograd's F(3x3, 2x2), dy's 2x2 tiles acting as
 * the filter: dW = A^T [sum over tiles of (G dy G^T) . (B^T x B)] A, so each of the 16 transformed
 * products is a GEMM over tiles (on `filterTile`), 2.25x fewer multiply-adds than 9 taps over
 * pixels. x is [n, ih, iw, ci], read as padded by `top` and `left` (`tilePatch`, ci a multiple of
 * 4), dy is [n, oh, ow, co] (co a multiple of 8), out is dW [3, 3, ci, co]. `scratch` holds
 * 16 * (ci * co + block * (ci + co) + 32) + (3 * max(iw, 4) + 4) * ci floats. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1],
 * G = [1 0; .5 .5; .5 -.5; 0 1], A^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1].
 */
export function winogradFilterGrad(x: usize, dy: usize, out: usize, scratch: usize, n: i32, ih: i32, iw: i32, ci: i32, oh: i32, ow: i32, co: i32, block: i32, top: i32, left: i32): void {
  const tilesY = (oh + 1) >> 1;
  const tilesX = (ow + 1) >> 1;
  const tiles = n * tilesY * tilesX;
  const ciBytes = <usize>ci << 2;
  const coBytes = <usize>co << 2;
  // M[k][c][o], accumulated over all tiles.
  const m = scratch;
  const mBytes = <usize>ci * coBytes;
  memory.fill(m, 0, 16 * mBytes);
  // V[k][c / 4][tile][4] and W[k][o / 8][tile][8]: panels the GEMM tiles stream.
  const v = m + 16 * mBytes;
  const vBytes = winogradRowBytes(block, ci);
  const wt = v + 16 * vBytes;
  const wBytes = winogradRowBytes(block, co);
  const edge = wt + 16 * wBytes;
  const xRow = patchRowBytes(iw, ci);
  const half = f32x4.splat(0.5);
  const zero = f32x4.splat(0);
  for (let q0 = 0; q0 < tiles; q0 += block) {
    const count = min(block, tiles - q0);
    for (let t = 0; t < count; t++) {
      const patch = tilePatch(x, q0 + t, tilesY, tilesX, ih, iw, ci, top, left, edge);
      for (let c: usize = 0; c < ciBytes; c += 16) {
        const p = patch + c;
        const at = v + (c >> 4) * (<usize>block << 4) + (<usize>t << 4);
        inputRow(at, 0, vBytes, ciBytes, p, p + 2 * xRow, -1, true);
        inputRow(at, 4, vBytes, ciBytes, p + xRow, p + 2 * xRow, 1, true);
        inputRow(at, 8, vBytes, ciBytes, p + 2 * xRow, p + xRow, -1, true);
        inputRow(at, 12, vBytes, ciBytes, p + 3 * xRow, p + xRow, -1, true);
      }
      const inside = tileInside(q0 + t, tilesY, tilesX, oh, ow);
      const right = (inside & 1) != 0;
      const below = (inside & 2) != 0;
      const d00 = dy + <usize>windowStart(q0 + t, tilesY, tilesX, oh, ow, 2, 2) * coBytes;
      const d10 = d00 + <usize>ow * coBytes;
      for (let o: usize = 0; o < coBytes; o += 16) {
        const a0 = v128.load(d00 + o);
        const a1 = right ? v128.load(d00 + coBytes + o) : zero;
        const b0 = below ? v128.load(d10 + o) : zero;
        const b1 = below && right ? v128.load(d10 + coBytes + o) : zero;
        // Rows of G dy: [d0, (d0 + d1) / 2, (d0 - d1) / 2, d1], then the same along columns.
        const at = wt + (o >> 5) * (<usize>block << 5) + (<usize>t << 5) + (o & 31);
        gradDyRow(at, 0, wBytes, a0, a1, half);
        gradDyRow(at, 4, wBytes, f32x4.mul(half, f32x4.add(a0, b0)), f32x4.mul(half, f32x4.add(a1, b1)), half);
        gradDyRow(at, 8, wBytes, f32x4.mul(half, f32x4.sub(a0, b0)), f32x4.mul(half, f32x4.sub(a1, b1)), half);
        gradDyRow(at, 12, wBytes, b0, b1, half);
      }
    }
    for (let k: usize = 0; k < 16; k++) {
      for (let c = 0; c < ci; c += 4) {
        const vp = v + k * vBytes + <usize>(c >> 2) * (<usize>block << 4);
        for (let o = 0; o < co; o += 8) {
          filterTile(vp, wt + k * wBytes + <usize>(o >> 3) * (<usize>block << 5), m + k * mBytes + (<usize>(c * co + o) << 2), 1, count, 0, 16, coBytes);
        }
      }
    }
  }
  // dW = A^T M A per (c, 4 output channels).
  const tapBytes = <usize>ci * coBytes;
  for (let at: usize = 0; at < mBytes; at += 16) {
    const mp = m + at;
    const dp = out + at;
    // Rows of A^T M: r0 = m0 + m1 + m2, r1 = m1 - m2, r2 = m1 + m2 + m3, per column s.
    for (let s: usize = 0; s < 4; s++) {
      const m0 = v128.load(mp + s * mBytes);
      const m1 = v128.load(mp + (4 + s) * mBytes);
      const m2 = v128.load(mp + (8 + s) * mBytes);
      const m3 = v128.load(mp + (12 + s) * mBytes);
      // Park the three row values in M's own row-0..2 slots of column s (already read).
      v128.store(mp + s * mBytes, f32x4.add(f32x4.add(m0, m1), m2));
      v128.store(mp + (4 + s) * mBytes, f32x4.sub(m1, m2));
      v128.store(mp + (8 + s) * mBytes, f32x4.add(f32x4.add(m1, m2), m3));
    }
    for (let i: usize = 0; i < 3; i++) {
      const r0 = v128.load(mp + (4 * i) * mBytes);
      const r1 = v128.load(mp + (4 * i + 1) * mBytes);
      const r2 = v128.load(mp + (4 * i + 2) * mBytes);
      const r3 = v128.load(mp + (4 * i + 3) * mBytes);
      v128.store(dp + (3 * i) * tapBytes, f32x4.add(f32x4.add(r0, r1), r2));
      v128.store(dp + (3 * i + 1) * tapBytes, f32x4.sub(r1, r2));
      v128.store(dp + (3 * i + 2) * tapBytes, f32x4.add(f32x4.add(r1, r2), r3));
    }
  }
}

/** Row k/4 of G dy G^T, 4 channels, from a row [h0, h1] of G dy: [h0, (h0 + h1) / 2, (h0 - h1) / 2, h1]. */
// @ts-ignore: decorator
@inline
function gradDyRow(at: usize, k: usize, wBytes: usize, h0: v128, h1: v128, half: v128): void {
  v128.store(at + k * wBytes, h0);
  v128.store(at + (k + 1) * wBytes, f32x4.mul(half, f32x4.add(h0, h1)));
  v128.store(at + (k + 2) * wBytes, f32x4.mul(half, f32x4.sub(h0, h1)));
  v128.store(at + (k + 3) * wBytes, h1);
}

/**
 * Copies `rows` runs of `runBytes` bytes between strided positions (concat, split, channel
 * padding). Short runs of whole f32x4s go by vector loads and stores, others by memory.copy.
 */
export function copyRuns(src: usize, srcStride: usize, dst: usize, dstStride: usize, runBytes: usize, rows: i32): void {
  if ((runBytes & 15) == 0 && runBytes <= 256) {
    for (let r = 0; r < rows; r++) {
      for (let i: usize = 0; i < runBytes; i += 16) v128.store(dst + i, v128.load(src + i));
      src += srcStride;
      dst += dstStride;
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    memory.copy(dst, src, runBytes);
    src += srcStride;
    dst += dstStride;
  }
}
