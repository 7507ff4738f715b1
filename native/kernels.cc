// The heap kernels on AVX2 + FMA registers (8 floats), compiled once per instruction set with
// HFL_NS naming the table, HFL_MR the pixels of a forward tile and HFL_FC the 4-channel panels of
// a filter-gradient tile: AVX-512 builds have 32 vector registers and take larger tiles. The
// layouts and blockings follow assembly/conv_kernels.ts (read its comments for the why); the
// register tiles are wider (16 or 32 output channels), use fused multiply-add, and every kernel splits
// its outputs across the calling thread's pool, so a thread count never changes a result.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

namespace hfl {
namespace HFL_NS {

// Pixels per forward tile by panel width: the AVX-512 build takes 8 pixels x 32 channels (16 zmm
// accumulators, 8 pixel pointers): 12 pointers spilled to vector registers on every step.
constexpr int MR = HFL_MR;
constexpr float kOne = 1.0f, kTiny = 1e-7f;
constexpr int FC = HFL_FC;
/** Output pixels per block of the forward convolution (a multiple of every tile's pixel count). */
constexpr int kConvBlock = 96;
/**
 * Pixels per block of a convolution with `pixels` outputs: kConvBlock, down to 24 (still a multiple
 * of every tile's) so that a small layer has 8 blocks to share. DenseNet-121's last block (288
 * pixels) made 3 blocks of 96, and of two threads one waited a third of each call. A pixel's sums
 * do not depend on its block.
 */
inline long convBlockPixels(long pixels) { return std::clamp<long>(pixels / 8 / 24 * 24, 24, kConvBlock); }
/** Tiles per Winograd block (likewise). */
constexpr int kWinoBlock = 48;
/** Tiles per block of the Winograd filter gradient. */
constexpr int kWinoGradBlock = 64;
/**
 * Floats past the end of each Winograd point's panel row, so that the 16 rows a tile's transform
 * writes (and the output transform reads) one stride apart fall in different L1 sets: a stride
 * that is a multiple of 4 KiB (64 tiles x 128 channels) put all 16 in one set, more than its 12
 * ways (Zen 5). Skewed, densenet121's 128 -> 32 filter gradient ran about 2.7x faster and its
 * forward 1.6x.
 */
constexpr int kSkew = 16;
/** Floats between a Winograd point's panel rows of `tiles` tiles x `channels`. */
inline size_t winoRow(int tiles, int channels) { return static_cast<size_t>(tiles) * channels + kSkew; }
/** Output pixels per block of the direct filter gradient. */
constexpr int kGradBlockPixels = 192;

/** 8 floats in a ymm register. */
struct Ymm {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
};

#if HFL_ZMM
/** 16 floats in a zmm register: one instruction where AVX2 needs two (measured 53 against 43 GFLOP/s of FMA on Zen 4). */
struct Zmm {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
};
/** Registers for a 16-channel panel. */
using Wide = Zmm;
constexpr int kWideNV = 1;
#else
using Wide = Ymm;
constexpr int kWideNV = 2;
#endif

/**
 * Threads worth waking for `work` multiply-adds (or elements, for the memory-bound passes): waking
 * a helper costs microseconds, so small layers stay on the calling thread (densenet-small ran 37%
 * slower on two threads without this). Results do not depend on the count.
 */
inline int threadsFor(double work, int threads, double perThread = 1 << 20) {
  return static_cast<int>(std::max(1.0, std::min(static_cast<double>(threads), work / perThread)));
}
/**
 * Elements per thread of a memory-bound pass. At 256 Ki, 2,800 of a densenet121 step's 3,900 kernel
 * calls stayed on one thread; 64 Ki took 23 ms (10%) off those passes per 2-thread step. 16 Ki took
 * another 15-21 ms off them (three probes, one process, thresholds alternating step by step; 8 Ki
 * 28 ms in a fourth), and neither small model slowed. With its helper spinning, a 32 Ki-element
 * add takes 2.7 us on two threads against 4.1 on one; only under that does the split cost more
 * than it saves.
 */
constexpr double kMemoryWork = 1 << 14;

/** Width of the gradient panel starting at channel o: 16 while it fits, else 8. */
inline int panelWidth(int o, int co8) { return o + 16 <= co8 ? 16 : 8; }

/** Width of the forward weight panel at o: 32 (AVX-512 only) or 16 while it fits, else 8. */
inline int convPanelWidth(int o, int co8) { return HFL_ZMM && o + 32 <= co8 ? 32 : panelWidth(o, co8); }

/** Pixel offset of window q's first pixel in an h x w plane (windows over rows x cols per image, strides sh, sw). */
inline long windowStart(long q, int rows, int cols, int h, int w, int sh, int sw) {
  const long img = q / (static_cast<long>(rows) * cols);
  const long rem = q - img * rows * cols;
  const long row = rem / cols;
  return (img * h + row * sh) * w + (rem - row * cols) * sw;
}

/**
 * A Winograd kernel's input: n images of ih x iw pixels of ci floats, read as if padded by `top`
 * rows and `left` columns of zeros (and zeros past the far edges), so no padded copy is made.
 */
struct WinoPlane {
  const float* x;
  int ih, iw, ci, top, left;
  /**
   * Floats between a patch's rows, in x and in the edge buffer alike: a row of the plane, or of 4
   * pixels when the plane is narrower (then every patch overhangs and is read from the buffer).
   */
  size_t patchRow() const { return static_cast<size_t>(std::max(iw, 4)) * ci; }
  /** Floats of the edge buffer tilePatch fills: four patch rows. */
  size_t edgeFloats() const { return 3 * patchRow() + 4 * static_cast<size_t>(ci); }
};

/**
 * The first float of the 4x4 patch under 2x2 tile q (rows patchRow floats apart, columns ci): in
 * x when the whole patch lies inside, else in `edge` (edgeFloats), with zeros where it overhangs.
 */
inline const float* tilePatch(const WinoPlane& p, long q, int tilesY, int tilesX, float* edge) {
  const long perImage = static_cast<long>(tilesY) * tilesX;
  const long img = q / perImage, rem = q - img * perImage;
  const long ty = rem / tilesX, tx = rem - ty * tilesX;
  const long y0 = 2 * ty - p.top, x0 = 2 * tx - p.left;
  const size_t row = static_cast<size_t>(p.iw) * p.ci;
  const float* image = p.x + img * p.ih * row;
  if (y0 >= 0 && x0 >= 0 && y0 + 4 <= p.ih && x0 + 4 <= p.iw) return image + y0 * row + x0 * p.ci;
  for (long r = 0; r < 4; r++)
    for (long s = 0; s < 4; s++) {
      float* dst = edge + r * p.patchRow() + s * p.ci;
      const long iy = y0 + r, ix = x0 + s;
      if (iy >= 0 && iy < p.ih && ix >= 0 && ix < p.iw)
        std::memcpy(dst, image + iy * row + ix * p.ci, sizeof(float) * p.ci);
      else
        std::memset(dst, 0, sizeof(float) * p.ci);
    }
  return edge;
}

/** Scratch that lives with the calling thread and grows as needed (kernels run back to back). */
inline float* localScratch(size_t floats, int slot) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[slot];
  if (b.size() < floats) b.resize(floats);
  return b.data();
}

/** localScratch for `count` float64s (the vectors' storage is aligned for them). */
inline double* localDoubles(size_t count, int slot) { return reinterpret_cast<double*>(localScratch(2 * count, slot)); }

/**
 * y_i[0 .. 8 NV) = sum over taps and channels of x_i[tap, c] * w[tap, c, .] for MR pixels: xs[i]
 * is pixel i's window in the padded input (pixels xPix floats apart, rows xRow), w the packed
 * panel ([kh, kw, ci] x 8 NV floats).
 * `accumulate` adds the sum to y instead (y + sum, the same float as a separate Add).
 */
template <class L, int NV, int MR>
inline void convTile(const float* const* xs, const float* w, float* const* ys, int kh, int kw, int ci, size_t xPix, size_t xRow,
                     bool accumulate) {
  typename L::T acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[i][v] = L::zero();
  // The y rows an accumulating tile adds to are strided and rarely cached: fetch them while the sums run.
  if (accumulate)
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
      for (int f = 0; f < L::W * NV; f += 16) _mm_prefetch(reinterpret_cast<const char*>(ys[i] + f), _MM_HINT_T0);
  const float* wp = w;
  for (int th = 0; th < kh; th++)
    for (int tw = 0; tw < kw; tw++) {
      const size_t off = th * xRow + tw * xPix;
      const float* p[MR];
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) p[i] = xs[i] + off;
      for (int c = 0; c < ci; c++) {
        typename L::T b[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) b[v] = L::load(wp + L::W * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
          const typename L::T a = L::bcast(p[i] + c);
#pragma GCC unroll 2
          for (int v = 0; v < NV; v++) acc[i][v] = L::fma(a, b[v], acc[i][v]);
        }
        wp += L::W * NV;
      }
    }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
      float* p = ys[i] + L::W * v;
      L::store(p, accumulate ? L::add(L::load(p), acc[i][v]) : acc[i][v]);
    }
}

/** Packs rows x co values (get(r, o)) into forward panels [o][rows][width], zero past co; rows [r0, r1) only. */
template <class Get>
inline void packPanels(float* dst, int rows, int co, int co8, long r0, long r1, Get get) {
  for (int o = 0; o < co8;) {
    const int pw = convPanelWidth(o, co8);
    float* panel = dst + static_cast<size_t>(o) * rows;
    for (long r = r0; r < r1; r++)
      for (int j = 0; j < pw; j++) panel[r * pw + j] = o + j < co ? get(r, o + j) : 0.0f;
    o += pw;
  }
}

/** convTile<L, NV, M> over `count` rows of one panel (rows past count read the last and write a sink). */
template <class L, int NV, int M, class XAt, class YAt>
inline void panelRows(const float* panel, int o, long count, int kh, int kw, int ci, size_t xPix, size_t xRow, bool accumulate,
                      XAt xAt, YAt yAt) {
  alignas(64) float sink[32] = {};
  for (long t = 0; t < count; t += M) {
    const float* xs[M];
    float* ys[M];
    for (int i = 0; i < M; i++) {
      xs[i] = xAt(std::min(t + i, count - 1));
      ys[i] = t + i < count ? yAt(t + i) + o : sink;
    }
    convTile<L, NV, M>(xs, panel, ys, kh, kw, ci, xPix, xRow, accumulate);
  }
}

/** Runs the forward tiles over `count` rows (pointers from xAt/yAt) for every panel; `accumulate` adds to y. */
template <class XAt, class YAt>
inline void gemmRows(const float* panels, int k, int co8, long count, int kh, int kw, int ci, size_t xPix, size_t xRow,
                     bool accumulate, XAt xAt, YAt yAt) {
  for (int o = 0; o < co8;) {
    const int pw = convPanelWidth(o, co8);
    const float* panel = panels + static_cast<size_t>(o) * k;
#if HFL_ZMM
    if (pw == 32)
      panelRows<Zmm, 2, 8>(panel, o, count, kh, kw, ci, xPix, xRow, accumulate, xAt, yAt);
    else
#endif
        if (pw == 16)
      panelRows<Wide, kWideNV, MR>(panel, o, count, kh, kw, ci, xPix, xRow, accumulate, xAt, yAt);
    else
      panelRows<Ymm, 1, MR>(panel, o, count, kh, kw, ci, xPix, xRow, accumulate, xAt, yAt);
    o += pw;
  }
}

void conv(const float* x, const float* w, float* y, float* packed, int n, int hp, int wp, int ci, int oh, int ow, int co,
          int yStride, int kh, int kw, int sh, int sw, bool accumulate, int xStride, int threads) {
  const int k = kh * kw * ci;
  const int co8 = (co + 7) & ~7;
  const long pixels = static_cast<long>(n) * oh * ow;
  const size_t xRow = static_cast<size_t>(wp) * xStride;
  const long block = convBlockPixels(pixels);
  const int nt = threadsFor(double(pixels) * k * co8, threads);
  WorkQueue pack(k, grainFor(k, nt)), blocks((pixels + block - 1) / block);
  localPool().run(nt, [&](int slot) {
    pack.drain(slot, [&](long r0, long r1) { packPanels(packed, k, co, co8, r0, r1, [&](long r, int o) { return w[r * co + o]; }); });
    pack.finish();
    blocks.drain(slot, [&](long b, long) {
      const long p0 = b * block;
      const long count = std::min<long>(block, pixels - p0);
      gemmRows(
          packed, k, co8, count, kh, kw, ci, xStride, xRow, accumulate,
          [&](long i) { return x + windowStart(p0 + i, oh, ow, hp, wp, sh, sw) * xStride; },
          [&](long i) { return y + (p0 + i) * yStride; });
    });
  });
}

/** Eight floats for the Winograd transforms, which GCC's vector extension computes with the scalar code's operators. */
typedef float F8 __attribute__((vector_size(32)));

template <class T>
inline T ld(const float* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <class T>
inline void st(float* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

/**
 * B^T d B for the 4x4 patch at p (columns ci floats apart, rows xRow), per channel lane:
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]; the filter gradient's F(3x3, 2x2) (`fg`) has
 * [0 -1 0 1] as its last row.
 */
template <class T>
inline void inputTransform(const float* p, size_t ci, size_t xRow, bool fg, T v[16]) {
  T d[4][4], e[4][4];
  for (int r = 0; r < 4; r++)
    for (int s = 0; s < 4; s++) d[r][s] = ld<T>(p + r * xRow + s * ci);
  for (int s = 0; s < 4; s++) {
    e[0][s] = d[0][s] - d[2][s];
    e[1][s] = d[1][s] + d[2][s];
    e[2][s] = d[2][s] - d[1][s];
    e[3][s] = fg ? d[3][s] - d[1][s] : d[1][s] - d[3][s];
  }
  for (int i = 0; i < 4; i++) {
    v[4 * i] = e[i][0] - e[i][2];
    v[4 * i + 1] = e[i][1] + e[i][2];
    v[4 * i + 2] = e[i][2] - e[i][1];
    v[4 * i + 3] = fg ? e[i][3] - e[i][1] : e[i][1] - e[i][3];
  }
}

/** y = A^T M A for one tile's lanes, A^T = [1 1 1 0; 0 1 -1 -1]; writes the pixels inside the output. */
template <class T>
inline void outputTransform(const float* mp, size_t mStride, float* y00, size_t yPix, size_t yLine, bool right, bool below) {
  T a[4], b[4];
  for (int s = 0; s < 4; s++) {
    const T m0 = ld<T>(mp + s * mStride), m1 = ld<T>(mp + (4 + s) * mStride), m2 = ld<T>(mp + (8 + s) * mStride),
            m3 = ld<T>(mp + (12 + s) * mStride);
    a[s] = m0 + m1 + m2;
    b[s] = m1 - m2 - m3;
  }
  st<T>(y00, a[0] + a[1] + a[2]);
  if (right) st<T>(y00 + yPix, a[1] - a[2] - a[3]);
  if (below) {
    st<T>(y00 + yLine, b[0] + b[1] + b[2]);
    if (right) st<T>(y00 + yLine + yPix, b[1] - b[2] - b[3]);
  }
}

/** G dy G^T for a 2x2 dy tile (zeros outside the output), G = [1 0; .5 .5; .5 -.5; 0 1]; into W[k] rows wStride apart. */
template <class T>
inline void gradTransform(T a0, T a1, T b0, T b1, float* at, size_t wStride) {
  const T half = T{} + 0.5f;
  const T h[4][2] = {{a0, a1}, {half * (a0 + b0), half * (a1 + b1)}, {half * (a0 - b0), half * (a1 - b1)}, {b0, b1}};
  for (int i = 0; i < 4; i++) {
    float* row = at + 4 * i * wStride;
    st<T>(row, h[i][0]);
    st<T>(row + wStride, half * (h[i][0] + h[i][1]));
    st<T>(row + 2 * wStride, half * (h[i][0] - h[i][1]));
    st<T>(row + 3 * wStride, h[i][1]);
  }
}

/** dW = A^T M A for one (c, o) lane group, A^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1]; taps `tap` floats apart. */
template <class T>
inline void gradOutputTransform(const float* mp, size_t mStride, float* dp, size_t tap) {
  T r[3][4];
  for (int s = 0; s < 4; s++) {
    const T m0 = ld<T>(mp + s * mStride), m1 = ld<T>(mp + (4 + s) * mStride), m2 = ld<T>(mp + (8 + s) * mStride),
            m3 = ld<T>(mp + (12 + s) * mStride);
    r[0][s] = m0 + m1 + m2;
    r[1][s] = m1 - m2;
    r[2][s] = m1 + m2 + m3;
  }
  for (int i = 0; i < 3; i++) {
    st<T>(dp + (3 * i) * tap, r[i][0] + r[i][1] + r[i][2]);
    st<T>(dp + (3 * i + 1) * tap, r[i][1] - r[i][2]);
    st<T>(dp + (3 * i + 2) * tap, r[i][1] + r[i][2] + r[i][3]);
  }
}

/** Packs the Winograd filter U for input channels [c0, c1): panels [o][c][width] per point k (zeros past wci and co). */
void packWinogradFilter(const float* w, float* u, long c0, long c1, int ci, int wci, int co, int co8, size_t uStride, size_t tap) {
  for (int o = 0; o < co8;) {
    const int pw = convPanelWidth(o, co8);
    for (long c = c0; c < c1; c++)
      for (int j = 0; j < pw; j++) {
        float m[16] = {0};
        if (c < wci && o + j < co) {
          const float* g = w + c * co + o + j;
          float t[4][3];
          for (int s = 0; s < 3; s++) {
            const float g0 = g[s * tap], g1 = g[(3 + s) * tap], g2 = g[(6 + s) * tap];
            t[0][s] = g0;
            t[1][s] = 0.5f * (g0 + g1 + g2);
            t[2][s] = 0.5f * (g0 - g1 + g2);
            t[3][s] = g2;
          }
          for (int i = 0; i < 4; i++) {
            m[4 * i] = t[i][0];
            m[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            m[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            m[4 * i + 3] = t[i][2];
          }
        }
        for (int kk = 0; kk < 16; kk++) u[kk * uStride + static_cast<size_t>(o) * ci + c * pw + j] = m[kk];
      }
    o += pw;
  }
}

void winograd(const float* x, const float* w, float* y, int n, int ih, int iw, int ci, int wci, int oh, int ow, int co,
              int yStride, int top, int left, int threads) {
  const WinoPlane plane{x, ih, iw, ci, top, left};
  const int co8 = (co + 7) & ~7;
  const int tilesY = (oh + 1) >> 1, tilesX = (ow + 1) >> 1;
  const long tiles = static_cast<long>(n) * tilesY * tilesX;
  const size_t uStride = static_cast<size_t>(ci) * co8;
  // U[k] packed as panels [o][c][width]: (G g G^T)[k], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
  float* u = localScratch(16 * uStride, 0);
  const size_t tap = static_cast<size_t>(wci) * co;
  const int nt = threadsFor(double(tiles) * 16 * ci * co8, threads);
  WorkQueue pack(ci, grainFor(ci, nt)), blocks((tiles + kWinoBlock - 1) / kWinoBlock);
  localPool().run(nt, [&](int slot) {
    pack.drain(slot, [&](long c0, long c1) { packWinogradFilter(w, u, c0, c1, ci, wci, co, co8, uStride, tap); });
    pack.finish();
    const size_t vStride = winoRow(kWinoBlock, ci), mStride = winoRow(kWinoBlock, co8);
    float* v = localScratch(16 * (vStride + mStride) + plane.edgeFloats(), 1);
    float* m = v + 16 * vStride;
    float* edge = m + 16 * mStride;
    const size_t xRow = plane.patchRow();
    const size_t yPix = yStride, yLine = static_cast<size_t>(ow) * yStride;
    blocks.drain(slot, [&](long b, long) {
      const long q0 = b * kWinoBlock;
      const long count = std::min<long>(kWinoBlock, tiles - q0);
      // V[k][tile][c] = (B^T d B)[k], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
      for (long t = 0; t < count; t++) {
        const float* p = tilePatch(plane, q0 + t, tilesY, tilesX, edge);
        float* out = v + t * ci;
        int c = 0;
        for (; c + 8 <= ci; c += 8) {
          F8 d[16];
          inputTransform(p + c, ci, xRow, false, d);
          for (int kk = 0; kk < 16; kk++) st<F8>(out + kk * vStride + c, d[kk]);
        }
        for (; c < ci; c++) {
          float d[16];
          inputTransform(p + c, ci, xRow, false, d);
          for (int kk = 0; kk < 16; kk++) out[kk * vStride + c] = d[kk];
        }
      }
      for (int kk = 0; kk < 16; kk++) {
        const float* vk = v + kk * vStride;
        float* mk = m + kk * mStride;
        gemmRows(
            u + kk * uStride, ci, co8, count, 1, 1, ci, ci, 0, false, [&](long i) { return vk + i * ci; },
            [&](long i) { return mk + i * co8; });
      }
      // y = A^T M A per tile, A^T = [1 1 1 0; 0 1 -1 -1], written where inside the output.
      for (long t = 0; t < count; t++) {
        const long q = q0 + t;
        const long rem = q % (static_cast<long>(tilesY) * tilesX);
        const long ty = rem / tilesX, tx = rem - ty * tilesX;
        const bool right = 2 * tx + 1 < ow, below = 2 * ty + 1 < oh;
        float* y00 = y + windowStart(q, tilesY, tilesX, oh, ow, 2, 2) * yPix;
        const float* mt = m + t * co8;
        for (int o = 0; o < co8; o += 8) outputTransform<F8>(mt + o, mStride, y00 + o, yPix, yLine, right, below);
      }
    });
  });
}

/**
 * Accumulates a (4 FCC channels) x (8 NV output channels) tile of dW over `rows` rows of `ow`
 * steps: x at the first 4-channel panel (later panels `xPanel` floats on; `xRow` floats per row,
 * `xStep` per step), dy a packed panel (8 NV floats per step), out the tile's first float in dW
 * (rows `outRow` floats apart).
 */
template <class L, int NV, int FCC>
inline void filterTile(const float* x, size_t xPanel, const float* dy, float* out, long rows, long ow, size_t xRow, size_t xStep,
                       size_t outRow) {
  typename L::T acc[4 * FCC][NV];
#pragma GCC unroll 16
  for (int i = 0; i < 4 * FCC; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[i][v] = L::load(out + i * outRow + L::W * v);
  const float* dp = dy;
  for (long r = 0; r < rows; r++) {
    const float* xp = x + r * xRow;
    for (long j = 0; j < ow; j++) {
      typename L::T b[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) b[v] = L::load(dp + L::W * v);
#pragma GCC unroll 16
      for (int i = 0; i < 4 * FCC; i++) {
        const typename L::T a = L::bcast(xp + (i >> 2) * xPanel + (i & 3));
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = L::fma(a, b[v], acc[i][v]);
      }
      xp += xStep;
      dp += L::W * NV;
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < 4 * FCC; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) L::store(out + i * outRow + L::W * v, acc[i][v]);
}

/**
 * Width of a filter gradient's dy panel at o: 32 on AVX-512 while it fits (tiles of 8 channels x
 * 32 outputs take 2 vector loads and 8 broadcasts per 16 FMAs, where 16 x 16 took 1 and 16: 10-22%
 * faster on DenseNet and U-Net shapes), else 16 while it fits, else 8.
 */
inline int gradPanelWidth(int o, int co) { return HFL_ZMM && o + 32 <= co ? 32 : panelWidth(o, co); }

/** filterTile for every output-channel panel of one group of 4 FC channels (fewer at the end of ci). */
inline void filterTiles(int groupChannels, const float* x, size_t xPanel, const float* dyPanels, long steps, float* out, int co,
                        long rows, long ow, size_t xRow, size_t xStep) {
  for (int o = 0; o < co;) {
    const int pw = gradPanelWidth(o, co);
    const float* dp = dyPanels + static_cast<size_t>(o) * steps;
    float* op = out + o;
    if (pw == 32) {
      if constexpr (HFL_ZMM) {
        int g = 0;
        for (; g + 8 <= groupChannels; g += 8)
          filterTile<Wide, 2, 2>(x + (g >> 2) * xPanel, xPanel, dp, op + g * co, rows, ow, xRow, xStep, co);
        for (; g < groupChannels; g += 4)
          filterTile<Wide, 2, 1>(x + (g >> 2) * xPanel, xPanel, dp, op + g * co, rows, ow, xRow, xStep, co);
      }
    } else if (groupChannels == 4 * FC) {
      if (pw == 16)
        filterTile<Wide, kWideNV, FC>(x, xPanel, dp, op, rows, ow, xRow, xStep, co);
      else
        filterTile<Ymm, 1, FC>(x, xPanel, dp, op, rows, ow, xRow, xStep, co);
    } else {
      for (int g = 0; g < groupChannels; g += 4) {
        if (pw == 16)
          filterTile<Wide, kWideNV, 1>(x + (g >> 2) * xPanel, xPanel, dp, op + g * co, rows, ow, xRow, xStep, co);
        else
          filterTile<Ymm, 1, 1>(x + (g >> 2) * xPanel, xPanel, dp, op + g * co, rows, ow, xRow, xStep, co);
      }
    }
    o += pw;
  }
}

/**
 * Copies `steps` runs of W floats, `stride` floats apart in src, one after another into dst. W is
 * a constant: a copy of a variable number of floats compiled to `rep movsq` and took half of a
 * filter gradient's packing time.
 */
template <int W>
inline void packRuns(float* dst, const float* src, size_t stride, long steps) {
  for (long s = 0; s < steps; s++) std::memcpy(dst + s * W, src + s * stride, W * sizeof(float));
}

/** Packs `steps` rows of dy (co floats each, one after another) into panels [o][step][width] (gradPanelWidth). */
inline void packDy(float* dst, const float* dy, int co, long steps) {
  for (int o = 0; o < co;) {
    const int pw = gradPanelWidth(o, co);
    float* panel = dst + static_cast<size_t>(o) * steps;
    if (pw == 32)
      packRuns<32>(panel, dy + o, co, steps);
    else if (pw == 16)
      packRuns<16>(panel, dy + o, co, steps);
    else
      packRuns<8>(panel, dy + o, co, steps);
    o += pw;
  }
}

/**
 * The filter gradients' work items are (channel group, position) pairs, channel group major (a
 * position is a tap, or one of the 16 Winograd points). Items [i0, i1) read channels [c0, c1) and
 * positions [p0, p1).
 */
inline void itemRange(long i0, long i1, int positions, int ci, int& c0, int& c1, int& p0, int& p1) {
  const int g0 = static_cast<int>(i0 / positions), g1 = static_cast<int>((i1 - 1) / positions);
  c0 = g0 * 4 * FC;
  c1 = std::min(ci, (g1 + 1) * 4 * FC);
  p0 = g0 == g1 ? static_cast<int>(i0 % positions) : 0;
  p1 = g0 == g1 ? static_cast<int>((i1 - 1) % positions) + 1 : positions;
}

/**
 * The geometry of a direct filter gradient: x padded to hp x wp x ci (pixels xStride floats
 * apart), dy oh x ow x co, kh x kw taps, strides sh, sw.
 */
struct FilterGradShape {
  int hp, wp, ci, oh, ow, co, kh, kw, sh, sw, xStride;
};

/** Output pixel rows per block of the direct filter gradient (its panels stay in L2). */
inline int gradRowBlock(int ow) { return std::max(1, kGradBlockPixels / ow); }

/** Floats of one thread's filterGrad panels: a block of dy, and x's rows for every channel. */
inline size_t gradPanelFloats(FilterGradShape g) {
  return static_cast<size_t>(gradRowBlock(g.ow)) * (static_cast<size_t>(g.ow) * g.co + g.kh * static_cast<size_t>(g.wp) * g.ci);
}

/**
 * Adds output rows [r0, r1) (over all images) of the (channel group, tap) items [i0, i1) into out
 * ([tap][ci][co]; every item's output zeroed first), block by block: dy and x's channels of the
 * items packed into this thread's panels, then one GEMM per item.
 */
void filterGradAccumulate(const float* x, const float* dy, float* out, FilterGradShape g, long r0, long r1, long i0, long i1,
                          float* dyPanel) {
  const int taps = g.kh * g.kw;
  const int rowBlock = gradRowBlock(g.ow);
  const size_t panelRow = static_cast<size_t>(g.wp) * 4;
  int c0, c1, p0, p1;
  itemRange(i0, i1, taps, g.ci, c0, c1, p0, p1);
  for (long b0 = r0; b0 < r1; b0 += rowBlock) {
    const long count = std::min<long>(rowBlock, r1 - b0);
    const long pixels = count * g.ow;
    float* xPanel = dyPanel + pixels * g.co;
    const size_t panelFloats = count * g.kh * panelRow;
    packDy(dyPanel, dy + b0 * g.ow * g.co, g.co, pixels);
    for (long rt = 0; rt < count * g.kh; rt++) {
      const long r = rt / g.kh, th = rt % g.kh;
      const long img = (b0 + r) / g.oh, row = (b0 + r) % g.oh;
      const float* src = x + ((img * g.hp + row * g.sh + th) * g.wp) * g.xStride;
      float* dst = xPanel + rt * panelRow;
      for (int c = c0; c < c1; c += 4)
        for (int j = 0; j < g.wp; j++)
          std::memcpy(dst + (c >> 2) * panelFloats + j * 4, src + static_cast<size_t>(j) * g.xStride + c, 16);
    }
    for (long item = i0; item < i1; item++) {
      const int t = static_cast<int>(item % taps), c = static_cast<int>(item / taps) * 4 * FC;
      const int th = t / g.kw, tw = t % g.kw;
      filterTiles(std::min(4 * FC, g.ci - c), xPanel + th * panelRow + tw * 4 + (c >> 2) * panelFloats, panelFloats, dyPanel, pixels,
                  out + (static_cast<size_t>(t) * g.ci + c) * g.co, g.co, count, g.ow, g.kh * panelRow, static_cast<size_t>(g.sw) * 4);
    }
  }
}

/**
 * Split a filter gradient (taps x ci x co outputs summed over `work` positions: pixels or tiles)
 * by positions into this many chunks, each summing its own partial outputs, or under 2 by
 * outputs. Every chunk zeroes, loads and stores its partial outputs once per block and the
 * reduction reads them again, about 16 bytes per output per chunk, so that cost grows with the
 * chunk count against a fixed amount of arithmetic: chunks of at least 1024 positions, in a power
 * of two (an odd count leaves one of two threads idle at the end), cut the filter-gradient time of
 * a step against chunks of 256 by 8% on one thread and 10% on two (densenet121), 11% and 3%
 * (unet32). Splitting by outputs makes every thread read and pack (or transform) all of dy, which
 * held two threads to 1.1-1.3x one on U-Net's few-channel layers with many positions. The count
 * depends on the shape only, so each output is summed in one order for any thread count; the
 * partial sums take at most 32 MiB.
 */
inline long positionChunks(long work, size_t outputs) {
  const long fit = std::min<long>({16, work / 1024, static_cast<long>(32.0 * (1 << 20) / (outputs * sizeof(float)))});
  if (fit < 2) return fit;
  long chunks = 2;
  while (2 * chunks <= fit) chunks *= 2;
  return chunks;
}

/** Zeroes the outputs of (channel group, position) items [i0, i1) of out ([position][ci][co]). */
inline void zeroItems(float* out, int positions, int ci, int co, long i0, long i1) {
  for (long item = i0; item < i1; item++) {
    const int p = static_cast<int>(item % positions), c = static_cast<int>(item / positions) * 4 * FC;
    std::memset(out + (static_cast<size_t>(p) * ci + c) * co, 0, std::min(4 * FC, ci - c) * co * sizeof(float));
  }
}

/**
 * Runs a filter gradient's accumulation on up to `threads` threads into total
 * ([positions][ci][co]), then `finish` (begin, end) over chunks of [0, finishItems). With chunks
 * >= 2 the chunks go to whichever thread is free, each summed into its own copy in `parts` (room
 * for `chunks` copies), and the copies are added in chunk order into total; else ranges of
 * (channel group, position) items go to whichever thread is free and accumulate straight into
 * total. accumulate(sums, position begin, position end, item begin, item end) adds one range.
 */
template <class Accumulate, class Finish>
void splitFilterGrad(float* total, float* parts, int positions, int ci, int co, long work, long chunks, int threads,
                     Accumulate accumulate, long finishItems, Finish finish) {
  const long outputs = static_cast<long>(positions) * ci * co;
  const long items = static_cast<long>(positions) * ((ci + 4 * FC - 1) / (4 * FC));
  // Each range of items packs dy once more: one range per thread.
  WorkQueue partials(chunks >= 2 ? chunks : items, chunks >= 2 ? 1 : grainFor(items, threads, 1));
  WorkQueue reduce(chunks >= 2 ? outputs : 0, grainFor(outputs, threads)), finishing(finishItems, grainFor(finishItems, threads));
  localPool().run(threads, [&](int slot) {
    if (chunks >= 2) {
      partials.drain(slot, [&](long j, long) {
        float* part = parts + j * outputs;
        zeroItems(part, positions, ci, co, 0, items);
        accumulate(part, work * j / chunks, work * (j + 1) / chunks, 0L, items);
      });
      partials.finish();
      reduce.drain(slot, [&](long e0, long e1) {
        for (long e = e0; e < e1; e++) {
          float sum = parts[e];
          for (long j = 1; j < chunks; j++) sum += parts[j * outputs + e];
          total[e] = sum;
        }
      });
      reduce.finish();
    } else {
      partials.drain(slot, [&](long i0, long i1) {
        zeroItems(total, positions, ci, co, i0, i1);
        accumulate(total, 0L, work, i0, i1);
      });
      partials.finish();
    }
    finishing.drain(slot, finish);
  });
}

void filterGrad(const float* x, const float* dy, float* out, int n, int hp, int wp, int ci, int oh, int ow, int co, int kh, int kw,
                int sh, int sw, int xStride, int threads) {
  const FilterGradShape g{hp, wp, ci, oh, ow, co, kh, kw, sh, sw, xStride};
  const int taps = kh * kw;
  const long rows = static_cast<long>(n) * oh;
  const size_t outputs = static_cast<size_t>(taps) * ci * co;
  // Chunks of whole rows.
  const long chunks = std::min(positionChunks(rows * ow, outputs), rows);
  splitFilterGrad(
      out, chunks >= 2 ? localScratch(chunks * outputs, 0) : nullptr, taps, ci, co, rows, chunks,
      threadsFor(double(rows) * ow * taps * ci * co, threads),
      [&](float* part, long r0, long r1, long i0, long i1) {
        filterGradAccumulate(x, dy, part, g, r0, r1, i0, i1, localScratch(gradPanelFloats(g), 1));
      },
      0, [](long, long) {});
}

/** The geometry of a Winograd filter gradient: x's plane, dy oh x ow x co, in 2x2 output tiles. */
struct WinoGradShape {
  WinoPlane x;
  int tilesY, tilesX, oh, ow, co;
};

/**
 * Adds tiles [q0, q1) of the (Winograd point, channel group) items [i0, i1) into M[k][c][o] (items
 * channel group major; every item's output was zeroed first), block by block: x's channels of the
 * items and all of dy transformed into this thread's v and wt, then one small GEMM per item.
 */
void winoGradAccumulate(const float* dy, float* m, const WinoGradShape& g, long q0, long q1, long i0, long i1, float* v, float* wt,
                        float* edge) {
  const int ci = g.x.ci;
  const size_t mStride = static_cast<size_t>(ci) * g.co;
  const size_t vStride = winoRow(kWinoGradBlock, ci), wStride = winoRow(kWinoGradBlock, g.co);
  const size_t xRow = g.x.patchRow();
  const size_t panel4 = static_cast<size_t>(kWinoGradBlock) * 4;
  int c0, c1, k0, k1;
  itemRange(i0, i1, 16, ci, c0, c1, k0, k1);
  for (long b0 = q0; b0 < q1; b0 += kWinoGradBlock) {
    const long count = std::min<long>(kWinoGradBlock, q1 - b0);
    for (long t = 0; t < count; t++) {
      const long q = b0 + t;
      const float* p = tilePatch(g.x, q, g.tilesY, g.tilesX, edge);
      // V[k][c / 4][tile][4]: eight channels are two 4-channel panels.
      int c = c0;
      for (; c + 8 <= c1; c += 8) {
        F8 d[16];
        inputTransform(p + c, ci, xRow, true, d);
        float* at = v + (c >> 2) * panel4 + t * 4;
        for (int kk = k0; kk < k1; kk++) {
          std::memcpy(at + kk * vStride, &d[kk], 16);
          std::memcpy(at + kk * vStride + panel4, reinterpret_cast<const float*>(&d[kk]) + 4, 16);
        }
      }
      for (; c < c1; c++) {
        float d[16];
        inputTransform(p + c, ci, xRow, true, d);
        for (int kk = k0; kk < k1; kk++) v[kk * vStride + (c >> 2) * panel4 + t * 4 + (c & 3)] = d[kk];
      }
      const long rem = q % (static_cast<long>(g.tilesY) * g.tilesX);
      const long ty = rem / g.tilesX, tx = rem - ty * g.tilesX;
      const bool right = 2 * tx + 1 < g.ow, below = 2 * ty + 1 < g.oh;
      const float* d00 = dy + windowStart(q, g.tilesY, g.tilesX, g.oh, g.ow, 2, 2) * g.co;
      const float* d10 = d00 + static_cast<size_t>(g.ow) * g.co;
      // co is a multiple of 8 (the host pads it); a pixel outside the output reads as zero.
      const F8 zero = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int p0 = 0, pw; p0 < g.co; p0 += pw) {
        pw = gradPanelWidth(p0, g.co);
        for (int o = p0; o < p0 + pw; o += 8) {
          const F8 a0 = ld<F8>(d00 + o), a1 = right ? ld<F8>(d00 + g.co + o) : zero;
          const F8 b0 = below ? ld<F8>(d10 + o) : zero, b1 = below && right ? ld<F8>(d10 + g.co + o) : zero;
          gradTransform(a0, a1, b0, b1, wt + static_cast<size_t>(p0) * kWinoGradBlock + t * pw + (o - p0), wStride);
        }
      }
    }
    for (long item = i0; item < i1; item++) {
      const int kk = static_cast<int>(item % 16), c = static_cast<int>(item / 16) * 4 * FC;
      filterTiles(std::min(4 * FC, ci - c), v + kk * vStride + (c >> 2) * panel4, panel4, wt + kk * wStride, kWinoGradBlock,
                  m + kk * mStride + static_cast<size_t>(c) * g.co, g.co, 1, count, 0, 4);
    }
  }
}

void winogradFilterGrad(const float* x, const float* dy, float* out, int n, int ih, int iw, int ci, int oh, int ow, int co, int top,
                        int left, int threads) {
  const WinoGradShape g{{x, ih, iw, ci, top, left}, (oh + 1) >> 1, (ow + 1) >> 1, oh, ow, co};
  const long tiles = static_cast<long>(n) * g.tilesY * g.tilesX;
  const size_t mStride = static_cast<size_t>(ci) * co;
  const long chunks = positionChunks(tiles, 16 * mStride);
  // M[k][c][o], summed over the tiles, and the chunks' partial copies after it.
  float* m = localScratch(16 * mStride * (chunks >= 2 ? chunks + 1 : 1), 0);
  splitFilterGrad(
      m, m + 16 * mStride, 16, ci, co, tiles, chunks, threadsFor(double(tiles) * 16 * ci * co, threads),
      [&](float* part, long q0, long q1, long i0, long i1) {
        const size_t vFloats = 16 * winoRow(kWinoGradBlock, ci), panels = vFloats + 16 * winoRow(kWinoGradBlock, co);
        float* v = localScratch(panels + g.x.edgeFloats(), 1);
        winoGradAccumulate(dy, part, g, q0, q1, i0, i1, v, v + vFloats, v + panels);
      },
      static_cast<long>(mStride) / 8, [&](long e0, long e1) {
        // dW = A^T M A per (c, o), A^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1].
        for (long e = 8 * e0; e < 8 * e1; e += 8) gradOutputTransform<F8>(m + e, mStride, out + e, mStride);
      });
}

/** u, or with relu u where v > 0 and +0 elsewhere (ReLU's gradient folded into BatchNorm's backward). */
inline float masked(float u, float v, bool relu) { return relu && !(v > 0) ? 0.0f : u; }

/** masked for 8 floats: u loaded from p, v already loaded. */
template <bool Relu>
inline __m256 maskedLoad(const float* p, __m256 v) {
  const __m256 u = _mm256_loadu_ps(p);
  return Relu ? _mm256_and_ps(u, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ)) : u;
}

/**
 * Adds the float64 sums of u and u * v (u masked by v > 0 when Relu) over rows [r0, r1) into
 * sum[0, channels) and sq[0, channels), row after row, 8 channels at a time. Reading the rows in
 * order keeps one stream the hardware prefetchers follow: summing down columns of 16 channels
 * (sums in registers) ran at a third of this speed on a tensor fresh from memory. By-value
 * parameters: see affineRows.
 */
template <bool Relu>
void rowSums(const float* u, const float* v, long r0, long r1, int channels, double* sum, double* sq) {
  const int vec = channels & ~7;
  for (long r = r0; r < r1; r++) {
    const size_t at = static_cast<size_t>(r) * channels;
    for (int c = 0; c < vec; c += 8) {
      const __m256 b = _mm256_loadu_ps(v + at + c);
      const __m256 a = maskedLoad<Relu>(u + at + c, b);
      const __m256d a0 = _mm256_cvtps_pd(_mm256_castps256_ps128(a)), a1 = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
      const __m256d b0 = _mm256_cvtps_pd(_mm256_castps256_ps128(b)), b1 = _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1));
      _mm256_storeu_pd(sum + c, _mm256_add_pd(_mm256_loadu_pd(sum + c), a0));
      _mm256_storeu_pd(sum + c + 4, _mm256_add_pd(_mm256_loadu_pd(sum + c + 4), a1));
      _mm256_storeu_pd(sq + c, _mm256_fmadd_pd(a0, b0, _mm256_loadu_pd(sq + c)));
      _mm256_storeu_pd(sq + c + 4, _mm256_fmadd_pd(a1, b1, _mm256_loadu_pd(sq + c + 4)));
    }
  }
  // Channels past the last 8 down the rows, their sums in registers (a bias gradient has 1).
  for (int c = vec; c < channels; c++) {
    double s = sum[c], q = sq[c];
    for (long r = r0; r < r1; r++) {
      const size_t at = static_cast<size_t>(r) * channels + c;
      const double a = masked(u[at], v[at], Relu);
      s += a;
      q += a * static_cast<double>(v[at]);
    }
    sum[c] = s;
    sq[c] = q;
  }
}

/**
 * Row chunks of channelSums, each summed on its own by whichever thread is free and then added in
 * chunk order. The count depends on the shape alone (chunks of at least 64 Ki elements, at most 16),
 * so every channel's sum has one order for any thread count.
 */
inline long rowChunks(int rows, int channels) {
  return std::max<long>(1, std::min<long>({16, rows, static_cast<long>(rows) * channels / (1 << 16)}));
}

void channelSums(const float* u, const float* v, int rows, int channels, double* out, bool relu, int threads) {
  const long chunks = rowChunks(rows, channels);
  const size_t width = 2 * static_cast<size_t>(channels);
  // Scratch slot 1: every thread running the body, the caller included, sums into its own slot 0.
  double* parts = localDoubles(chunks * width, 1);
  WorkQueue queue(chunks);
  localPool().run(threadsFor(double(rows) * channels, threads, kMemoryWork), [&](int slot) {
    // Sums go to the thread's own scratch first: adjacent chunks' copies share a cache line at
    // their ends, which the two threads would pass back and forth on every row.
    double* sums = localDoubles(width, 0);
    queue.drain(slot, [&](long j, long) {
      std::fill(sums, sums + width, 0.0);
      (relu ? rowSums<true> : rowSums<false>)(u, v, rows * j / chunks, rows * (j + 1) / chunks, channels, sums, sums + channels);
      std::copy(sums, sums + width, parts + j * width);
    });
  });
  for (size_t e = 0; e < width; e++) {
    double total = parts[e];
    for (long j = 1; j < chunks; j++) total += parts[j * width + e];
    out[e] = total;
  }
}

/** ReLU as JavaScript's max(0, x) gives it (NaN kept, -0 becomes +0): one definition for every kernel that writes a ReLU. */
inline float rectify(float x) { return x <= 0.0f ? 0.0f : x; }

/** rectify for 8 floats, to the same bits. */
inline __m256 rectify(__m256 v) { return _mm256_andnot_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LE_OQ), v); }

/**
 * Rows [r0, r1) of channelAffine. The loops live in functions with by-value parameters, not in the
 * region's lambda: an intrinsic store may alias anything, so the compiler would reload every
 * by-reference capture (each pointer, the channel count, the relu flag) once per vector.
 */
template <bool Relu, bool Rect>
void affineRows(const float* u, const float* v, float* out, long r0, long r1, int channels, const float* coef, float* rect,
                long rectStride) {
  const float* a = coef;
  const float* s = coef + channels;
  const float* b = coef + 2 * channels;
  const float* k = coef + 3 * channels;
  const int vec = channels & ~7;
  for (long r = r0; r < r1; r++) {
    const size_t at = static_cast<size_t>(r) * channels;
    float* rr = Rect ? rect + r * rectStride : nullptr;
    for (int c = 0; c < vec; c += 8) {
      const __m256 vv = _mm256_loadu_ps(v + at + c);
      const __m256 uu = maskedLoad<Relu>(u + at + c, vv);
      const __m256 t = _mm256_fmadd_ps(_mm256_loadu_ps(b + c), vv, _mm256_loadu_ps(k + c));
      const __m256 y = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), _mm256_sub_ps(uu, _mm256_loadu_ps(s + c)), t);
      _mm256_storeu_ps(out + at + c, y);
      if (Rect) _mm256_storeu_ps(rr + c, rectify(y));
    }
    for (int c = vec; c < channels; c++) {
      const float vv = v[at + c];
      const float y = a[c] * (masked(u[at + c], vv, Relu) - s[c]) + b[c] * vv + k[c];
      out[at + c] = y;
      if (Rect) rr[c] = rectify(y);
    }
  }
}

void channelAffine(const float* u, const float* v, float* out, int rows, int channels, const float* coef, bool relu, float* rect,
                   int rectStride, int threads) {
  // One of four instantiations, chosen once per call rather than per row.
  const auto pass = relu ? (rect != nullptr ? affineRows<true, true> : affineRows<true, false>)
                          : (rect != nullptr ? affineRows<false, true> : affineRows<false, false>);
  parallelFor(rows, threadsFor(double(rows) * channels, threads, kMemoryWork), [&](long r0, long r1) {
    pass(u, v, out, r0, r1, channels, coef, rect, rectStride);
  });
}

/** maxPoolGrad for one image; best and at hold c floats and indices (by-value parameters: see affineRows). */
void maxPoolGradImage(const float* x, const float* dy, float* dx, int h, int w, int c, int oh, int ow, int fh, int fw, int sh, int sw,
                      int padTop, int padLeft, float* best, long* at) {
  std::memset(dx, 0, static_cast<size_t>(h) * w * c * sizeof(float));
  for (int oy = 0; oy < oh; oy++) {
    const int y0 = oy * sh - padTop, ya = std::max(y0, 0), yb = std::min(y0 + fh, h);
    for (int ox = 0; ox < ow; ox++) {
      const int x0 = ox * sw - padLeft, xa = std::max(x0, 0), xb = std::min(x0 + fw, w);
      std::fill(best, best + c, -INFINITY);
      std::fill(at, at + c, -1L);
      // The first maximum in row-major order wins: a later tap must be strictly greater.
      for (int yy = ya; yy < yb; yy++)
        for (int xx = xa; xx < xb; xx++) {
          const long e = (yy * static_cast<long>(w) + xx) * c;
          for (int ch = 0; ch < c; ch++)
            if (x[e + ch] > best[ch]) {
              best[ch] = x[e + ch];
              at[ch] = e + ch;
            }
        }
      const float* g = dy + (oy * static_cast<long>(ow) + ox) * c;
      for (int ch = 0; ch < c; ch++)
        if (at[ch] >= 0) dx[at[ch]] += g[ch];
    }
  }
}

void maxPoolGrad(const float* x, const float* dy, float* dx, int n, int h, int w, int c, int oh, int ow, int fh, int fw, int sh,
                 int sw, int padTop, int padLeft, int threads) {
  const size_t plane = static_cast<size_t>(h) * w * c;
  parallelFor(n, threadsFor(double(n) * plane, threads, kMemoryWork), [&](long i0, long i1) {
    std::vector<float> best(c);
    std::vector<long> at(c);
    for (long img = i0; img < i1; img++)
      maxPoolGradImage(x + img * plane, dy + img * static_cast<long>(oh) * ow * c, dx + img * plane, h, w, c, oh, ow, fh, fw, sh, sw,
                       padTop, padLeft, best.data(), at.data());
  });
}

/** avgPoolGradTiled for one image (by-value parameters: see affineRows). */
void avgPoolGradImage(const float* dy, float* dx, int h, int w, int c, int oh, int ow, int fh, int fw, float scale) {
  std::memset(dx, 0, static_cast<size_t>(h) * w * c * sizeof(float));
  for (int oy = 0; oy < oh; oy++)
    for (int ox = 0; ox < ow; ox++) {
      const float* g = dy + (oy * static_cast<long>(ow) + ox) * c;
      for (int yy = oy * fh; yy < (oy + 1) * fh; yy++)
        for (int xx = ox * fw; xx < (ox + 1) * fw; xx++) {
          float* p = dx + (yy * static_cast<long>(w) + xx) * c;
          // 0 + g * scale, as the cpu backend sums it (a -0 product becomes +0).
          for (int ch = 0; ch < c; ch++) p[ch] = 0.0f + g[ch] * scale;
        }
    }
}

void avgPoolGradTiled(const float* dy, float* dx, int n, int h, int w, int c, int oh, int ow, int fh, int fw, float scale,
                      int threads) {
  const size_t plane = static_cast<size_t>(h) * w * c;
  parallelFor(n, threadsFor(double(n) * plane, threads, kMemoryWork), [&](long i0, long i1) {
    for (long img = i0; img < i1; img++)
      avgPoolGradImage(dy + img * static_cast<long>(oh) * ow * c, dx + img * plane, h, w, c, oh, ow, fh, fw, scale);
  });
}

void copyRuns(const uint8_t* src, size_t srcStride, uint8_t* dst, size_t dstStride, size_t runBytes, int rows, int threads) {
  parallelFor(rows, threadsFor(double(runBytes) * rows / sizeof(float), threads, kMemoryWork), [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) std::memcpy(dst + r * dstStride, src + r * srcStride, runBytes);
  });
}

void padPlane(const float* src, float* dst, int n, int h, int w, int c, int hp, int wp, int cp, int top, int left, int threads) {
  const long rows = static_cast<long>(n) * hp;
  const size_t rowFloats = static_cast<size_t>(wp) * cp;
  // Destination columns that come from the source.
  const int j0 = std::max(0, left), j1 = std::min(wp, w + left);
  parallelFor(rows, threadsFor(double(rows) * rowFloats, threads, kMemoryWork), [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* d = dst + r * rowFloats;
      const long img = r / hp;
      const long i = r - img * hp - top;
      if (i < 0 || i >= h || j0 >= j1) {
        std::memset(d, 0, rowFloats * sizeof(float));
        continue;
      }
      std::memset(d, 0, static_cast<size_t>(j0) * cp * sizeof(float));
      const float* s = src + ((img * h + i) * w + (j0 - left)) * static_cast<long>(c);
      if (cp == c)
        std::memcpy(d + static_cast<size_t>(j0) * cp, s, static_cast<size_t>(j1 - j0) * c * sizeof(float));
      else
        for (int j = j0; j < j1; j++, s += c) {
          std::memcpy(d + static_cast<size_t>(j) * cp, s, c * sizeof(float));
          std::memset(d + static_cast<size_t>(j) * cp + c, 0, (cp - c) * sizeof(float));
        }
      std::memset(d + static_cast<size_t>(j1) * cp, 0, static_cast<size_t>(wp - j1) * cp * sizeof(float));
    }
  });
}

/** out[e] = a[e] op b[e % bCount] over [e0, e1), in runs that stay inside one repetition of b. */
template <int Op>
inline void elementwiseRuns(const float* a, const float* b, float* out, long e0, long e1, long bCount) {
  if (bCount == 1) {
    // A scalar: one run (a run per element would cost a division each).
    const float z = *b;
    for (long i = e0; i < e1; i++) out[i] = Op == 0 ? a[i] + z : Op == 1 ? a[i] - z : a[i] * z;
    return;
  }
  for (long e = e0; e < e1;) {
    const long j = e % bCount, len = std::min(e1 - e, bCount - j);
    const float* x = a + e;
    const float* z = b + j;
    float* y = out + e;
    // Plain loops: the compiler vectorizes them for the build's instruction set.
    for (long i = 0; i < len; i++)
      y[i] = Op == 0 ? x[i] + z[i] : Op == 1 ? x[i] - z[i] : Op == 2 ? x[i] * z[i] : rectify(x[i]);
    e += len;
  }
}

void elementwise(int op, const float* a, const float* b, float* out, long count, long bCount, int threads) {
  parallelFor(count, threadsFor(double(count), threads, kMemoryWork), [&](long e0, long e1) {
    switch (op) {
      case 0:
        return elementwiseRuns<0>(a, b, out, e0, e1, bCount);
      case 1:
        return elementwiseRuns<1>(a, b, out, e0, e1, bCount);
      case 2:
        return elementwiseRuns<2>(a, b, out, e0, e1, bCount);
      default:
        return elementwiseRuns<3>(a, a, out, e0, e1, count);
    }
  });
}

/** d[j * dstRow + i] = s[i * srcRow + j] for an 8 x 8 block, in registers. */
inline void transpose8x8(const float* s, long srcRow, float* d, long dstRow) {
  __m256 r[8], t[8];
  for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(s + k * srcRow);
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
    t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
  }
  for (int k = 0; k < 8; k += 4) {
    r[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; k++) {
    _mm256_storeu_ps(d + k * dstRow, _mm256_permute2f128_ps(r[k], r[k + 4], 0x20));
    _mm256_storeu_ps(d + (k + 4) * dstRow, _mm256_permute2f128_ps(r[k], r[k + 4], 0x31));
  }
}

/**
 * dst[j][i] = src[i][j] for rows [i0, i1) and every column, 32 columns at a time, 8 x 8 blocks in
 * registers (element by element, the strided reads left it at a quarter of the copy's speed) and
 * the edges one by one (by-value parameters: see affineRows).
 */
void transposeRows(const float* s, float* d, int i0, int i1, int cols, long srcRow, long dstRow) {
  constexpr int T = 32;
  const int i8 = i0 + (i1 - i0) / 8 * 8;
  for (int j0 = 0; j0 < cols; j0 += T) {
    const int j1 = std::min(cols, j0 + T);
    const int j8 = j0 + (j1 - j0) / 8 * 8;
    for (int i = i0; i < i8; i += 8)
      for (int j = j0; j < j8; j += 8) transpose8x8(s + i * srcRow + j, srcRow, d + j * dstRow + i, dstRow);
    for (int j = j0; j < j1; j++)
      for (int i = j < j8 ? i8 : i0; i < i1; i++) d[j * dstRow + i] = s[i * srcRow + j];
  }
}

void transposeTiles(const float* src, float* dst, int batches, int rows, int cols, long srcBatch, long srcRow, long dstBatch,
                    long dstRow, int threads) {
  constexpr int T = 32;
  const long rowTiles = (rows + T - 1) / T;
  parallelFor(static_cast<long>(batches) * rowTiles, threadsFor(double(batches) * rows * cols, threads, kMemoryWork), [&](long t0, long t1) {
    for (long t = t0; t < t1; t++) {
      const long b = t / rowTiles;
      const int i0 = static_cast<int>(t - b * rowTiles) * T;
      transposeRows(src + b * srcBatch, dst + b * dstBatch, i0, std::min(rows, i0 + T), cols, srcRow, dstRow);
    }
  });
}

/** GFLOP/s of independent fused multiply-adds on the tiles' widest registers, on this thread for about `seconds`: the practical peak. */
double fmaPeak(double seconds) {
  using T = typename Wide::T;
  constexpr int kChains = 12;
  T acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = Wide::zero();
  const T a = Wide::bcast(&kOne), b = Wide::bcast(&kTiny);
  const auto start = std::chrono::steady_clock::now();
  long rounds = 0;
  double elapsed = 0;
  do {
    for (int r = 0; r < 100000; r++)
#pragma GCC unroll 12
      for (int i = 0; i < kChains; i++) acc[i] = Wide::fma(acc[i], a, b);
    rounds += 100000;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  float sink[Wide::W];
  Wide::store(sink, acc[0]);
  for (int i = 1; i < kChains; i++) Wide::store(sink, Wide::fma(acc[i], a, Wide::load(sink)));
  volatile float keep = sink[0];
  (void)keep;
  return 2.0 * Wide::W * kChains * rounds / elapsed / 1e9;
}

}  // namespace HFL_NS

const KernelTable HFL_TABLE = {
    HFL_ISA_NAME,         HFL_NS::conv,          HFL_NS::winograd,    HFL_NS::filterGrad,       HFL_NS::winogradFilterGrad,
    HFL_NS::channelSums,  HFL_NS::channelAffine, HFL_NS::maxPoolGrad, HFL_NS::avgPoolGradTiled, HFL_NS::copyRuns,
    HFL_NS::padPlane,     HFL_NS::elementwise,   HFL_NS::transposeTiles, HFL_NS::fmaPeak,
};

}  // namespace hfl
