// A fork-join thread pool tuned for few cores and many small ops (decode).
// Contract: run(fn) calls fn(i) once for every i in [0, size()) — index 0 on the
// calling thread — and returns after all calls finished. Workers spin briefly
// between jobs, then sleep, so back-to-back ops pay no wake-up latency while an
// idle pool costs no CPU. Not reentrant: fn must not call run() on the same pool.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace r1 {

class ThreadPool {
 public:
  // n_threads <= 0 picks default_thread_count().
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  void run(const std::function<void(int thread_index)>& fn);

  // Splits [0, n) into size() contiguous chunks and calls fn(begin, end, thread_index)
  // for each non-empty one. `grain` rounds chunk boundaries to multiples of it.
  template <class F>
  void parallel_for(int64_t n, F&& fn, int64_t grain = 1) {
    if (n <= 0) return;
    const int nt = n_threads_;
    if (nt == 1 || n <= grain) {
      fn(int64_t{0}, n, 0);
      return;
    }
    run([&](int t) {
      int64_t blocks = (n + grain - 1) / grain;
      int64_t b0 = blocks * t / nt, b1 = blocks * (t + 1) / nt;
      int64_t begin = b0 * grain, end = std::min(n, b1 * grain);
      if (begin < end) fn(begin, end, t);
    });
  }

  // Physical cores of this machine (hyper-threads not counted), at least 1.
  static int default_thread_count();

 private:
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

}  // namespace r1
