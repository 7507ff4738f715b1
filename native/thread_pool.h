// Fork-join thread pool for one calling thread (each JS thread, main or worker, owns its own
// pool, so two federated clients in one process never share or contend for helpers). Work is
// split statically by thread index; the kernels partition their outputs so that every output
// element is computed by one thread in one fixed order, which makes results identical for any
// thread count. Helpers spin briefly between calls (a training step issues thousands of kernel
// calls back to back), then sleep.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hfl {

/** A reusable spin barrier for the threads of one parallel region. */
class Barrier {
 public:
  explicit Barrier(int parties) : parties_(parties) {}
  void wait();

 private:
  const int parties_;
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> generation_{0};
};

/** The body of a parallel region: thread index, thread count, and the region's barrier. */
using RegionBody = std::function<void(int tid, int threads, Barrier& barrier)>;

class ThreadPool {
 public:
  ~ThreadPool();
  /** Runs body on `threads` threads (the caller is thread 0) and returns when all are done. */
  void run(int threads, const RegionBody& body);

 private:
  void grow(int helpers);
  void helperLoop(int index, unsigned seen);

  std::vector<std::thread> helpers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<unsigned> generation_{0};
  std::atomic<int> remaining_{0};
  std::atomic<bool> stop_{false};
  const RegionBody* body_ = nullptr;
  Barrier* barrier_ = nullptr;
  int active_ = 1;
};

/** The calling thread's pool. */
ThreadPool& localPool();

/**
 * Items [0, count) handed out one at a time to whichever thread asks first: a thread on a core
 * slowed by something else (another tenant's sibling hyperthread, an efficiency core) takes fewer,
 * where a static share would make the whole region wait for it. Only for items whose outputs do
 * not depend on which thread computes them.
 */
class WorkQueue {
 public:
  explicit WorkQueue(long count) : count_(count) {}
  /** The next item, or false when none is left. */
  bool take(long& item) {
    item = next_.fetch_add(1, std::memory_order_relaxed);
    return item < count_;
  }

 private:
  const long count_;
  std::atomic<long> next_{0};
};

/** [begin, end) of `count` items for thread `tid` of `threads`: contiguous, balanced. */
inline void share(long count, int tid, int threads, long& begin, long& end) {
  begin = count * tid / threads;
  end = count * (tid + 1) / threads;
}

}  // namespace hfl
