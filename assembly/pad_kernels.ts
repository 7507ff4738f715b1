// Zero padding (and cropping) of NHWC planes in tfjs's wasm heap: what the convolution kernels
// read for 'same' padding, channel counts rounded up, and input gradients.

/**
 * dst[b, i, j, ch] = src[b, i - top, j - left, ch] where that lies inside the n x h x w x c
 * source, else 0, for dst of n x hp x wp x cp (cp >= c). Negative top or left crop.
 */
export function padPlane(src: usize, dst: usize, n: i32, h: i32, w: i32, c: i32, hp: i32, wp: i32, cp: i32, top: i32, left: i32): void {
  const j0 = max(0, left);
  const j1 = min(wp, w + left);
  const rowBytes = <usize>wp * <usize>cp * 4;
  const cBytes = <usize>c * 4;
  const cpBytes = <usize>cp * 4;
  for (let img = 0; img < n; img++)
    for (let r = 0; r < hp; r++) {
      const d = dst + (<usize>img * <usize>hp + <usize>r) * rowBytes;
      const i = r - top;
      if (i < 0 || i >= h || j0 >= j1) {
        memory.fill(d, 0, rowBytes);
        continue;
      }
      memory.fill(d, 0, <usize>j0 * cpBytes);
      let s = src + ((<usize>img * <usize>h + <usize>i) * <usize>w + <usize>(j0 - left)) * cBytes;
      if (cp == c) memory.copy(d + <usize>j0 * cpBytes, s, <usize>(j1 - j0) * cBytes);
      else
        for (let j = j0; j < j1; j++, s += cBytes) {
          memory.copy(d + <usize>j * cpBytes, s, cBytes);
          memory.fill(d + <usize>j * cpBytes + cBytes, 0, cpBytes - cBytes);
        }
      memory.fill(d + <usize>j1 * cpBytes, 0, <usize>(wp - j1) * cpBytes);
    }
}
