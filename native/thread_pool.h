// Fork-join thread pool for one calling thread (each JS thread, main or worker, owns its own
// pool, so two federated clients in one process never share or contend for helpers). A region's
// work is shared through WorkQueues: whichever thread asks first takes the next chunk, and a
// thread that comes late (descheduled by another process, or still waking) takes fewer or none,
// where a static share would make the whole region wait for it. The kernels partition their
// outputs so that every output element is computed in one fixed order whoever computes it, which
// makes results identical for any thread count. Helpers spin briefly between calls (a training
// step issues thousands of kernel calls back to back), then sleep.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hfl {

/** The body of a parallel region, given its thread's slot: 0 the caller, then helpers in order of arrival. */
using RegionBody = std::function<void(int slot)>;

class ThreadPool {
 public:
  ~ThreadPool();
  /**
   * Runs body on the calling thread and on up to threads - 1 helpers as they arrive, and returns
   * when the caller's body has returned and so has every helper's that started. A helper that
   * arrives after the caller's body returned does not run it: a body must share its work through
   * WorkQueues and never wait for a particular thread.
   */
  void run(int threads, const RegionBody& body);

 private:
  void grow(int helpers);
  void helperLoop(uint64_t seen);

  std::vector<std::thread> helpers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  /** The current region's number (bits 32 and up), whether it is closed to helpers (bit 31), helpers inside it (the rest). */
  std::atomic<uint64_t> state_{0};
  /** Helpers the current region takes. */
  std::atomic<int> limit_{0};
  std::atomic<bool> stop_{false};
  const RegionBody* body_ = nullptr;
};

/** The calling thread's pool. */
ThreadPool& localPool();

/**
 * Items [0, count) in chunks of `grain`, taken by whichever thread asks: the caller (slot 0) from
 * the front, helpers from the back. With two threads each gets the half a static split would give
 * it (the same part of a tensor from one kernel to the next, whose lines its cache still holds),
 * and a thread that comes late leaves its chunks to the other. Only for items whose outputs do not
 * depend on which thread computes them.
 */
class WorkQueue {
 public:
  explicit WorkQueue(long count, long grain = 1)
      : count_(count), grain_(grain < 1 ? 1 : grain), ends_(static_cast<uint64_t>((count + grain_ - 1) / grain_)) {}
  /** Calls f(begin, end) on chunks, from the end that suits `slot`, until none is left. */
  template <class F>
  void drain(int slot, F f) {
    for (uint64_t e = ends_.load(std::memory_order_relaxed);;) {
      const uint64_t front = e >> 32, back = e & 0xffffffffu;
      if (front >= back) return;
      const uint64_t chunk = slot == 0 ? front : back - 1;
      if (!ends_.compare_exchange_weak(e, slot == 0 ? e + (uint64_t{1} << 32) : e - 1, std::memory_order_relaxed)) continue;
      const long b = static_cast<long>(chunk) * grain_;
      const long end = b + grain_ < count_ ? b + grain_ : count_;
      f(b, end);
      done_.fetch_add(end - b, std::memory_order_release);
      e = ends_.load(std::memory_order_relaxed);
    }
  }
  /** Waits until every item has been done, by whichever thread took it (a phase's end: never waits for a thread that took none). */
  void finish() const;

 private:
  const long count_, grain_;
  /** The next chunk from the front (high half) and one past the next from the back (low half). */
  std::atomic<uint64_t> ends_;
  std::atomic<long> done_{0};
};

/** A chunk size that gives each of `threads` threads about `perThread` chunks of `count` items. */
inline long grainFor(long count, int threads, int perThread = 4) {
  return (count + static_cast<long>(perThread) * threads - 1) / (static_cast<long>(perThread) * threads);
}

/** f(begin, end) over chunks of [0, count) on up to `threads` threads of the calling thread's pool. */
template <class F>
void parallelFor(long count, int threads, F f) {
  WorkQueue queue(count, grainFor(count, threads));
  localPool().run(threads, [&](int slot) { queue.drain(slot, f); });
}

}  // namespace hfl
