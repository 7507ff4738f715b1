// Node-API entry of the native heap kernels. Every kernel takes tfjs's wasm heap (an
// ArrayBuffer), the thread count, then the AssemblyScript kernel's own arguments (pointers are
// byte offsets into that heap). Each pointer's whole extent is checked against the heap first,
// so a host bug throws a RangeError instead of writing outside the wasm memory.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

namespace {

using hfl::KernelTable;

/** The table for this CPU: AVX-512 (F, VL, BW, DQ) where the CPU and OS have it, else AVX2 + FMA; HARMOFL_NATIVE_ISA=avx2 forces the latter. */
const KernelTable* chooseTable(std::string& why) {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  const char* forced = std::getenv("HARMOFL_NATIVE_ISA");
  if (!avx2) {
    why = "this CPU lacks AVX2 + FMA";
    return nullptr;
  }
  if (forced != nullptr && std::strcmp(forced, "avx2") == 0) return &hfl::kAvx2Table;
  return avx512 ? &hfl::kAvx512Table : &hfl::kAvx2Table;
}

std::string unsupported;
const KernelTable* table = chooseTable(unsupported);

/** Reads a call's arguments: heap, threads, then numbers; collects the first error. */
class Args {
 public:
  Args(napi_env env, napi_callback_info info, size_t expected) : env_(env) {
    size_t argc = kMax;
    napi_get_cb_info(env, info, &argc, argv_, nullptr, nullptr);
    if (argc != expected + 2) {
      fail("wrong argument count");
      return;
    }
    bool isBuffer = false;
    napi_is_arraybuffer(env, argv_[0], &isBuffer);
    if (!isBuffer) {
      fail("argument 0 must be the wasm heap's ArrayBuffer");
      return;
    }
    void* data = nullptr;
    napi_get_arraybuffer_info(env, argv_[0], &data, &bytes_);
    heap_ = static_cast<uint8_t*>(data);
    threads_ = static_cast<int>(number(1));
    if (ok_ && (threads_ < 1 || threads_ > 256)) fail("threads must be 1..256");
  }

  /** Argument i (after heap and threads) as a number. */
  double num(size_t i) { return number(i + 2); }
  int i32(size_t i) { return static_cast<int>(num(i)); }
  bool flag(size_t i) {
    bool v = false;
    if (ok_ && napi_get_value_bool(env_, argv_[i + 2], &v) != napi_ok) fail("expected a boolean");
    return v;
  }
  /** Heap pointer from byte offset argument i, checked to hold `bytes` bytes. */
  template <class T>
  T* ptr(size_t i, double bytes) {
    const double off = num(i);
    if (!ok_) return nullptr;
    if (off < 0 || bytes < 0 || off + bytes > static_cast<double>(bytes_)) {
      fail("a tensor extends past the wasm heap (argument " + std::to_string(i) + ")");
      return nullptr;
    }
    return reinterpret_cast<T*>(heap_ + static_cast<size_t>(off));
  }
  int threads() const { return threads_; }
  /** Throws the collected error, if any; true when the call may proceed. */
  bool ready() {
    if (!ok_) napi_throw_range_error(env_, nullptr, error_.c_str());
    return ok_;
  }

 private:
  static constexpr size_t kMax = 24;
  double number(size_t i) {
    double v = 0;
    if (ok_ && napi_get_value_double(env_, argv_[i], &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  void fail(const std::string& why) {
    if (ok_) error_ = "harmofl native kernel: " + why;
    ok_ = false;
  }
  napi_env env_;
  napi_value argv_[kMax];
  uint8_t* heap_ = nullptr;
  size_t bytes_ = 0;
  int threads_ = 1;
  bool ok_ = true;
  std::string error_;
};

constexpr double F = 4;  // bytes per float

napi_value Conv(napi_env env, napi_callback_info info) {
  Args a(env, info, 19);
  const int n = a.i32(4), hp = a.i32(5), wp = a.i32(6), ci = a.i32(7), oh = a.i32(8), ow = a.i32(9), co = a.i32(10),
            yStride = a.i32(11), kh = a.i32(12), kw = a.i32(13), sh = a.i32(14), sw = a.i32(15), xStride = a.i32(18);
  const bool accumulate = a.flag(17);
  const double pixels = double(n) * oh * ow, co8 = (co + 7) & ~7;
  if (xStride < ci) {
    napi_throw_range_error(env, nullptr, "harmofl native kernel: conv needs xStride >= ci");
    return nullptr;
  }
  const float* x = a.ptr<float>(0, F * ((double(n) * hp * wp - 1) * xStride + ci));
  const float* w = a.ptr<float>(1, F * kh * kw * ci * co);
  float* y = a.ptr<float>(2, F * ((pixels - 1) * yStride + co8));
  float* packed = a.ptr<float>(3, F * kh * kw * ci * co8);
  if (a.ready() && pixels > 0) table->conv(x, w, y, packed, n, hp, wp, ci, oh, ow, co, yStride, kh, kw, sh, sw, accumulate, xStride, a.threads());
  return nullptr;
}

napi_value Winograd(napi_env env, napi_callback_info info) {
  Args a(env, info, 16);
  const int n = a.i32(4), ih = a.i32(5), iw = a.i32(6), ci = a.i32(7), wci = a.i32(8), oh = a.i32(9), ow = a.i32(10),
            co = a.i32(11), yStride = a.i32(12), top = a.i32(14), left = a.i32(15);
  const float* x = a.ptr<float>(0, F * double(n) * ih * iw * ci);
  const float* w = a.ptr<float>(1, F * 9 * wci * co);
  float* y = a.ptr<float>(2, F * double(n) * oh * ow * yStride);
  if (a.ready() && n > 0) table->winograd(x, w, y, n, ih, iw, ci, wci, oh, ow, co, yStride, top, left, a.threads());
  return nullptr;
}

napi_value FilterGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 17);
  const int n = a.i32(4), hp = a.i32(5), wp = a.i32(6), ci = a.i32(7), oh = a.i32(8), ow = a.i32(9), co = a.i32(10),
            kh = a.i32(11), kw = a.i32(12), sh = a.i32(13), sw = a.i32(14), xStride = a.i32(16);
  if (xStride < ci) {
    napi_throw_range_error(env, nullptr, "harmofl native kernel: filterGrad needs xStride >= ci");
    return nullptr;
  }
  const float* x = a.ptr<float>(0, F * ((double(n) * hp * wp - 1) * xStride + ci));
  const float* dy = a.ptr<float>(1, F * double(n) * oh * ow * co);
  float* out = a.ptr<float>(2, F * kh * kw * ci * co);
  if (a.ready()) table->filterGrad(x, dy, out, n, hp, wp, ci, oh, ow, co, kh, kw, sh, sw, xStride, a.threads());
  return nullptr;
}

napi_value WinogradFilterGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 14);
  const int n = a.i32(4), ih = a.i32(5), iw = a.i32(6), ci = a.i32(7), oh = a.i32(8), ow = a.i32(9), co = a.i32(10),
            top = a.i32(12), left = a.i32(13);
  const float* x = a.ptr<float>(0, F * double(n) * ih * iw * ci);
  const float* dy = a.ptr<float>(1, F * double(n) * oh * ow * co);
  float* out = a.ptr<float>(2, F * 9 * ci * co);
  if (a.ready()) table->winogradFilterGrad(x, dy, out, n, ih, iw, ci, oh, ow, co, top, left, a.threads());
  return nullptr;
}

napi_value ChannelSums(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  const int rows = a.i32(2), channels = a.i32(3);
  const float* u = a.ptr<float>(0, F * rows * channels);
  const float* v = a.ptr<float>(1, F * rows * channels);
  double* out = a.ptr<double>(4, 16.0 * channels);
  const bool relu = a.flag(5);
  if (a.ready()) table->channelSums(u, v, rows, channels, out, relu, a.threads());
  return nullptr;
}

napi_value ChannelAffine(napi_env env, napi_callback_info info) {
  Args a(env, info, 9);
  const int rows = a.i32(3), channels = a.i32(4), rectStride = a.i32(8);
  const float* u = a.ptr<float>(0, F * rows * channels);
  const float* v = a.ptr<float>(1, F * rows * channels);
  float* out = a.ptr<float>(2, F * rows * channels);
  const float* coef = a.ptr<float>(5, F * 4 * channels);
  const bool relu = a.flag(6);
  if (rectStride != 0 && rectStride < channels) {
    napi_throw_range_error(env, nullptr, "harmofl native kernel: channelAffine needs rectStride 0 or >= channels");
    return nullptr;
  }
  // Stride 0: no rectified output.
  float* rect = rectStride == 0 ? nullptr : a.ptr<float>(7, rows == 0 ? 0 : F * (double(rows - 1) * rectStride + channels));
  if (a.ready()) table->channelAffine(u, v, out, rows, channels, coef, relu, rect, rectStride, a.threads());
  return nullptr;
}

napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 15);
  const int n = a.i32(3), h = a.i32(4), w = a.i32(5), c = a.i32(6), oh = a.i32(7), ow = a.i32(8), fh = a.i32(9), fw = a.i32(10),
            sh = a.i32(11), sw = a.i32(12), pt = a.i32(13), pl = a.i32(14);
  const float* x = a.ptr<float>(0, F * n * h * w * c);
  const float* dy = a.ptr<float>(1, F * n * oh * ow * c);
  float* dx = a.ptr<float>(2, F * n * h * w * c);
  if (a.ready()) table->maxPoolGrad(x, dy, dx, n, h, w, c, oh, ow, fh, fw, sh, sw, pt, pl, a.threads());
  return nullptr;
}

napi_value AvgPoolGradTiled(napi_env env, napi_callback_info info) {
  Args a(env, info, 11);
  const int n = a.i32(2), h = a.i32(3), w = a.i32(4), c = a.i32(5), oh = a.i32(6), ow = a.i32(7), fh = a.i32(8), fw = a.i32(9);
  const float scale = static_cast<float>(a.num(10));
  const float* dy = a.ptr<float>(0, F * n * oh * ow * c);
  float* dx = a.ptr<float>(1, F * n * h * w * c);
  if (a.ready()) table->avgPoolGradTiled(dy, dx, n, h, w, c, oh, ow, fh, fw, scale, a.threads());
  return nullptr;
}

napi_value CopyRuns(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  const double srcStride = a.num(1), dstStride = a.num(3), runBytes = a.num(4);
  const int rows = a.i32(5);
  const double span = rows > 0 ? 1 : 0;
  const uint8_t* src = a.ptr<uint8_t>(0, span * ((rows - 1) * srcStride + runBytes));
  uint8_t* dst = a.ptr<uint8_t>(2, span * ((rows - 1) * dstStride + runBytes));
  if (a.ready() && rows > 0)
    table->copyRuns(src, static_cast<size_t>(srcStride), dst, static_cast<size_t>(dstStride), static_cast<size_t>(runBytes), rows,
                    a.threads());
  return nullptr;
}

napi_value PadPlane(napi_env env, napi_callback_info info) {
  Args a(env, info, 11);
  const int n = a.i32(2), h = a.i32(3), w = a.i32(4), c = a.i32(5), hp = a.i32(6), wp = a.i32(7), cp = a.i32(8), top = a.i32(9),
            left = a.i32(10);
  const float* src = a.ptr<float>(0, F * n * h * w * c);
  float* dst = a.ptr<float>(1, F * n * hp * wp * cp);
  if (cp < c) {
    napi_throw_range_error(env, nullptr, "harmofl native kernel: padPlane needs cp >= c");
    return nullptr;
  }
  if (a.ready()) table->padPlane(src, dst, n, h, w, c, hp, wp, cp, top, left, a.threads());
  return nullptr;
}

napi_value Elementwise(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  const int op = a.i32(0);
  const double count = a.num(4), bCount = a.num(5);
  const bool relu = op == 3;
  if (op < 0 || op > 3 || count < 0 || bCount < 1 || std::fmod(count, bCount) != 0) {
    napi_throw_range_error(env, nullptr, "harmofl native kernel: elementwise needs op 0..3 and bCount dividing count");
    return nullptr;
  }
  const float* x = a.ptr<float>(1, F * count);
  const float* z = a.ptr<float>(2, relu ? 0 : F * bCount);
  float* out = a.ptr<float>(3, F * count);
  if (a.ready() && count > 0) table->elementwise(op, x, z, out, static_cast<long>(count), static_cast<long>(bCount), a.threads());
  return nullptr;
}

napi_value TransposeTiles(napi_env env, napi_callback_info info) {
  Args a(env, info, 9);
  const int batches = a.i32(2), rows = a.i32(3), cols = a.i32(4);
  const double srcBatch = a.num(5), srcRow = a.num(6), dstBatch = a.num(7), dstRow = a.num(8);
  if (batches < 0 || rows < 0 || cols < 0 || srcBatch < 0 || srcRow < 0 || dstBatch < 0 || dstRow < 0) {
    napi_throw_range_error(env, nullptr, "harmofl native kernel: transposeTiles needs non-negative extents");
    return nullptr;
  }
  const bool any = batches > 0 && rows > 0 && cols > 0;
  // The last element each side touches, plus one.
  const float* src = a.ptr<float>(0, any ? F * ((batches - 1) * srcBatch + (rows - 1) * srcRow + cols) : 0);
  float* dst = a.ptr<float>(1, any ? F * ((batches - 1) * dstBatch + (cols - 1) * dstRow + rows) : 0);
  if (a.ready() && any)
    table->transposeTiles(src, dst, batches, rows, cols, static_cast<long>(srcBatch), static_cast<long>(srcRow),
                          static_cast<long>(dstBatch), static_cast<long>(dstRow), a.threads());
  return nullptr;
}

/**
 * fmaPeak(seconds, threads = 1): GFLOP/s of register-only fused multiply-adds per thread, on
 * `threads` threads at once, of the slowest one (the bench's measured peak, and its check of how
 * fast the host lets a row's cores run: a fork-join region waits for its slowest thread).
 */
napi_value FmaPeak(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2], out;
  double seconds = 0.2;
  uint32_t threads = 1;
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc >= 1) napi_get_value_double(env, args[0], &seconds);
  if (argc >= 2) napi_get_value_uint32(env, args[1], &threads);
  if (!(seconds > 0 && seconds < 10)) seconds = 0.2;
  const int used = static_cast<int>(std::clamp<uint32_t>(threads, 1, 256));
  // A helper that joins after the caller's loop (it never has, in 0.2 s) leaves its slot out of the minimum.
  std::vector<double> rates(used, INFINITY);
  hfl::localPool().run(used, [&](int slot) { rates[slot] = table->fmaPeak(seconds); });
  napi_create_double(env, *std::min_element(rates.begin(), rates.end()), &out);
  return out;
}

/** { isa, hardwareThreads } or { unsupported: reason }. */
napi_value Describe(napi_env env, napi_callback_info) {
  napi_value out, value;
  napi_create_object(env, &out);
  if (table == nullptr) {
    napi_create_string_utf8(env, unsupported.c_str(), NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, out, "unsupported", value);
  } else {
    napi_create_string_utf8(env, table->isa, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, out, "isa", value);
  }
  napi_create_uint32(env, std::thread::hardware_concurrency(), &value);
  napi_set_named_property(env, out, "hardwareThreads", value);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"describe", nullptr, Describe, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"winograd", nullptr, Winograd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"filterGrad", nullptr, FilterGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"winogradFilterGrad", nullptr, WinogradFilterGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelSums", nullptr, ChannelSums, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelAffine", nullptr, ChannelAffine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPoolGradTiled", nullptr, AvgPoolGradTiled, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRuns", nullptr, CopyRuns, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"padPlane", nullptr, PadPlane, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"elementwise", nullptr, Elementwise, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transposeTiles", nullptr, TransposeTiles, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fmaPeak", nullptr, FmaPeak, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  // Without a table only describe() is offered: the loader reads why and stays on wasm.
  napi_define_properties(env, exports, table == nullptr ? 1 : sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
