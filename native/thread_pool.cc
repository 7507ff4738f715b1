#include "thread_pool.h"

#include <chrono>

namespace hfl {

// Helpers spin this long after a region before they sleep: longer than the serial gaps between the
// kernel calls of a training step (BatchNorm glue, tfjs ops, JS), short enough that an idle client
// does not hold its cores (OpenMP runtimes spin for 0.2 s by default).
static constexpr auto kSpinTime = std::chrono::milliseconds(2);
// Barrier waits inside a region are short; past this many re-reads the waiter yields its core.
static constexpr int kSpins = 100000;

/**
 * One step of a spin-wait. No PAUSE: on a KVM guest a vCPU looping on PAUSE appears to be taken
 * off its core (pause-loop exiting), and a region after a serial gap then waited 60-270 us for its
 * helper (README: Native kernels and threads). A compiler barrier keeps the loop re-reading.
 */
inline void relax() { asm volatile("" ::: "memory"); }

void Barrier::wait() {
  const unsigned gen = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parties_) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    return;
  }
  for (int i = 0; generation_.load(std::memory_order_acquire) == gen; i++) {
    if (i < kSpins)
      relax();
    else
      std::this_thread::yield();
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : helpers_) t.join();
}

void ThreadPool::grow(int helpers) {
  // A helper starts from the generation current now, so the next run's bump is one it waits for.
  const unsigned seen = generation_.load();
  while (static_cast<int>(helpers_.size()) < helpers) {
    const int index = static_cast<int>(helpers_.size()) + 1;
    helpers_.emplace_back([this, index, seen] { helperLoop(index, seen); });
  }
}

void ThreadPool::helperLoop(int index, unsigned seen) {
  for (;;) {
    unsigned gen;
    const auto until = std::chrono::steady_clock::now() + kSpinTime;
    while ((gen = generation_.load(std::memory_order_acquire)) == seen) {
      for (int i = 0; i < 256 && (gen = generation_.load(std::memory_order_acquire)) == seen; i++) relax();
      if (gen != seen || std::chrono::steady_clock::now() > until) break;
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      gen = generation_.load();
    }
    seen = gen;
    if (stop_.load()) return;
    if (index < active_) {
      (*body_)(index, active_, *barrier_);
      remaining_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

void ThreadPool::run(int threads, const RegionBody& body) {
  if (threads <= 1) {
    Barrier single(1);
    body(0, 1, single);
    return;
  }
  grow(threads - 1);
  Barrier barrier(threads);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    barrier_ = &barrier;
    active_ = threads;
    remaining_.store(threads - 1);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  body(0, threads, barrier);
  while (remaining_.load(std::memory_order_acquire) > 0) relax();
}

ThreadPool& localPool() {
  thread_local ThreadPool pool;
  return pool;
}

}  // namespace hfl
