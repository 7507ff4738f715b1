#include "thread_pool.h"

#include <chrono>

namespace hfl {

// Helpers spin this long after a region before they sleep: longer than the serial gaps between the
// kernel calls of a training step (BatchNorm glue, tfjs ops, JS), short enough that an idle client
// does not hold its cores (OpenMP runtimes spin for 0.2 s by default).
static constexpr auto kSpinTime = std::chrono::milliseconds(2);
// Waits for another thread's chunk are short; past this many re-reads the waiter yields its core.
static constexpr int kSpins = 100000;

static constexpr uint64_t kClosed = uint64_t{1} << 31;
static constexpr uint64_t kInside = kClosed - 1;
static constexpr int kRegionShift = 32;

/**
 * One step of a spin-wait. No PAUSE: on a KVM guest a vCPU looping on PAUSE appears to be taken
 * off its core (pause-loop exiting), and a region after a serial gap then waited 60-270 us for its
 * helper (README: Native kernels and threads). A compiler barrier keeps the loop re-reading.
 */
inline void relax() { asm volatile("" ::: "memory"); }

/** The state that opens region `state`'s successor: its number one higher, open, nobody inside. */
inline uint64_t nextRegion(uint64_t state) { return ((state >> kRegionShift) + 1) << kRegionShift; }

/** Spins until done(), yielding the core after kSpins re-reads. */
template <class Done>
void spinUntil(Done done) {
  for (int i = 0; !done(); i++) {
    if (i < kSpins)
      relax();
    else
      std::this_thread::yield();
  }
}

void WorkQueue::finish() const {
  spinUntil([this] { return done_.load(std::memory_order_acquire) >= count_; });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    state_.store(nextRegion(state_.load()) | kClosed);
  }
  wake_.notify_all();
  for (auto& t : helpers_) t.join();
}

void ThreadPool::grow(int helpers) {
  // A helper starts from the region current now, so the next run's is one it joins.
  const uint64_t seen = state_.load() >> kRegionShift;
  while (static_cast<int>(helpers_.size()) < helpers) helpers_.emplace_back([this, seen] { helperLoop(seen); });
}

void ThreadPool::helperLoop(uint64_t seen) {
  for (;;) {
    uint64_t s;
    const auto until = std::chrono::steady_clock::now() + kSpinTime;
    while (((s = state_.load(std::memory_order_acquire)) >> kRegionShift) == seen) {
      for (int i = 0; i < 256 && ((s = state_.load(std::memory_order_acquire)) >> kRegionShift) == seen; i++) relax();
      if ((s >> kRegionShift) != seen || std::chrono::steady_clock::now() > until) break;
    }
    if ((s >> kRegionShift) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return (state_.load() >> kRegionShift) != seen; });
      s = state_.load(std::memory_order_acquire);
    }
    if (stop_.load()) return;
    // Join the region if it is still open and wants another helper; a failed exchange reloads s.
    for (;;) {
      seen = s >> kRegionShift;
      if ((s & kClosed) != 0 || static_cast<int>(s & kInside) >= limit_.load(std::memory_order_relaxed)) break;
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        (*body_)(static_cast<int>(s & kInside) + 1);
        state_.fetch_sub(1, std::memory_order_release);
        break;
      }
    }
  }
}

void ThreadPool::run(int threads, const RegionBody& body) {
  if (threads <= 1) {
    body(0);
    return;
  }
  grow(threads - 1);
  {
    // The previous region is closed and empty, so nothing reads body_ or limit_ now.
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    limit_.store(threads - 1, std::memory_order_relaxed);
    state_.store(nextRegion(state_.load()), std::memory_order_release);
  }
  wake_.notify_all();
  body(0);
  // Close the region to helpers that have not joined it, then wait for those inside.
  state_.fetch_or(kClosed, std::memory_order_acq_rel);
  spinUntil([this] { return (state_.load(std::memory_order_acquire) & kInside) == 0; });
}

ThreadPool& localPool() {
  thread_local ThreadPool pool;
  return pool;
}

}  // namespace hfl
