// The heap kernels, natively: the same operations and argument meanings as the AssemblyScript
// module (assembly/conv_kernels.ts, assembly/pool_kernels.ts), on the same NHWC tensors in tfjs's
// wasm heap (the addon passes pointers into that ArrayBuffer). One table per instruction set;
// kernels.cc is compiled once per set and the addon picks the table by CPU features at load.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hfl {

struct KernelTable {
  const char* isa;
  void (*conv)(const float* x, const float* w, float* y, float* packed, int n, int hp, int wp, int ci, int oh, int ow, int co,
               int yStride, int kh, int kw, int sh, int sw, bool accumulate, int xStride, int threads);
  void (*winograd)(const float* x, const float* w, float* y, int n, int ih, int iw, int ci, int wci, int oh, int ow, int co,
                   int yStride, int top, int left, int threads);
  void (*filterGrad)(const float* x, const float* dy, float* out, int n, int hp, int wp, int ci, int oh, int ow, int co, int kh,
                     int kw, int sh, int sw, int xStride, int threads);
  void (*winogradFilterGrad)(const float* x, const float* dy, float* out, int n, int ih, int iw, int ci, int oh, int ow, int co,
                             int top, int left, int threads);
  void (*channelSums)(const float* u, const float* v, int rows, int channels, double* out, bool relu, int threads);
  void (*channelAffine)(const float* u, const float* v, float* out, int rows, int channels, const float* coef, bool relu,
                        float* rect, int rectStride, int threads);
  void (*maxPoolGrad)(const float* x, const float* dy, float* dx, int n, int h, int w, int c, int oh, int ow, int fh, int fw,
                      int sh, int sw, int padTop, int padLeft, int threads);
  void (*avgPoolGradTiled)(const float* dy, float* dx, int n, int h, int w, int c, int oh, int ow, int fh, int fw, float scale,
                           int threads);
  void (*copyRuns)(const uint8_t* src, size_t srcStride, uint8_t* dst, size_t dstStride, size_t runBytes, int rows, int threads);
  void (*padPlane)(const float* src, float* dst, int n, int h, int w, int c, int hp, int wp, int cp, int top, int left,
                   int threads);
  void (*elementwise)(int op, const float* a, const float* b, float* out, long count, long bCount, int threads);
  void (*transposeTiles)(const float* src, float* dst, int batches, int rows, int cols, long srcBatch, long srcRow, long dstBatch,
                         long dstRow, int threads);
  double (*fmaPeak)(double seconds);
};

extern const KernelTable kAvx2Table;
extern const KernelTable kAvx512Table;

}  // namespace hfl
