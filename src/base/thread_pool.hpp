// A fork-join thread pool tuned for few cores and many small ops (decode).
//
// Work is handed out as numbered chunks that threads claim one at a time from a shared
// ticket (the calling thread claims too). A call returns as soon as every chunk has
// finished; it never waits for a worker that has not started, so on a machine where
// other programs (or more threads than cores) compete for the CPU, whichever of our
// threads is running does the work instead of waiting for one that is not.
//
// Contract: run_chunks(n, fn) calls fn(c) exactly once for every c in [0, n), on any of
// the pool's threads (the caller included), and returns after all calls finished.
// run(fn) is run_chunks(size(), fn). Workers spin briefly between jobs, then yield,
// then sleep, so back-to-back ops pay no wake-up latency while an idle pool costs no
// CPU. Calls from several threads at once are serialised (one job at a time: a model
// shared by sessions on different threads stays correct). Not reentrant: fn must not
// call run() on the same pool.
//
// Exceptions: a chunk that throws does not stop the others; every chunk still runs, and
// once all have finished the call rethrows the first exception caught (on whichever
// thread), dropping the rest. The pool is then ready for the next call.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
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
  // n_chunks < 2^20.
  void run_chunks(int64_t n_chunks, const std::function<void(int64_t chunk)>& fn);
  void run(const std::function<void(int index)>& fn) {
    run_chunks(n_threads_, [&fn](int64_t c) { fn(static_cast<int>(c)); });
  }

  // Splits [0, n) into size() contiguous chunks and calls fn(begin, end, chunk_index)
  // for each non-empty one (chunk_index < size(), each used by one call at a time, so
  // it can pick per-chunk scratch). `grain` rounds chunk boundaries to multiples of it.
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
  // Claims and runs chunks of the job whose ticket generation is `gen` until none is left.
  void work_on(uint64_t gen);
  // Runs chunk c of the current job, keeping the job's first exception in error_.
  void run_one(int64_t c);
  // Rethrows (and clears) the first exception of the job that just finished.
  void rethrow_error();

  int n_threads_;
  std::vector<std::thread> workers_;
  // The current job: ticket = generation (24 bits) | chunk count (20) | next chunk (20).
  const std::function<void(int64_t)>* job_ = nullptr;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int64_t> done_{0};   // finished chunks of the current job
  std::atomic<uint64_t> generation_{0};  // bumped per job: wakes the workers
  std::atomic<bool> stop_{false};
  std::mutex caller_mutex_;  // one job at a time, whichever thread submits it
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  std::mutex error_mutex_;
  std::exception_ptr error_;  // first exception thrown by a chunk of the current job
};

}  // namespace r1
