#include "base/thread_pool.hpp"

#include <immintrin.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace r1 {

namespace {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}
// Waiting strategy. Decode issues thousands of short ops per second, so a worker
// that just finished one keeps polling for the next: first with `pause` (cheapest
// wake-up), then with sched_yield (so that on an oversubscribed machine the thread
// we wait for gets the core), and after kSleepAfter it sleeps on the condition
// variable and costs nothing.
constexpr int kPauseIterations = 2000;
constexpr auto kSleepAfter = std::chrono::milliseconds(2);

// Polls `done()` with the strategy above; returns true if it became true, false if
// the caller should block instead.
template <class Done>
bool poll_until(Done&& done, bool may_sleep) {
  for (int i = 0; i < kPauseIterations; ++i) {
    if (done()) return true;
    cpu_relax();
  }
  const auto deadline = std::chrono::steady_clock::now() + kSleepAfter;
  for (int i = 0;; ++i) {
    if (done()) return true;
    std::this_thread::yield();
    if (may_sleep && (i & 15) == 15 && std::chrono::steady_clock::now() > deadline) return false;
  }
}
}  // namespace

int ThreadPool::default_thread_count() {
  // Count distinct (physical id, core id) pairs; fall back to logical CPUs.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys = "0";
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    std::string val = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "physical id") phys = val;
    if (key == "core id") cores.insert({phys, val});
  }
  long logical = ::sysconf(_SC_NPROCESSORS_ONLN);
  int n = cores.empty() ? static_cast<int>(logical) : static_cast<int>(cores.size());
  return std::max(1, std::min<int>(n, logical > 0 ? static_cast<int>(logical) : n));
}

namespace {
constexpr int kChunkBits = 20;
constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
constexpr uint64_t kGenMask = (uint64_t{1} << 24) - 1;
uint64_t ticket_gen(uint64_t t) { return t >> (2 * kChunkBits); }
uint64_t ticket_count(uint64_t t) { return (t >> kChunkBits) & kChunkMask; }
uint64_t ticket_next(uint64_t t) { return t & kChunkMask; }
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : default_thread_count()) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work_on(uint64_t gen) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    if (ticket_gen(t) != gen || ticket_next(t) >= ticket_count(t)) return;
    // Claiming chunk c of job `gen` proves the job is still running (chunk c has not
    // finished), so job_ is still that job's function.
    if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    run_one(static_cast<int64_t>(ticket_next(t)));
    done_.fetch_add(1, std::memory_order_acq_rel);
    t = ticket_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run_one(int64_t c) {
  try {
    (*job_)(c);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::rethrow_error() {
  std::exception_ptr e;
  {
    std::lock_guard<std::mutex> lock(error_mutex_);
    std::swap(e, error_);
  }
  if (e) std::rethrow_exception(e);
}

void ThreadPool::run_chunks(int64_t n_chunks, const std::function<void(int64_t)>& fn) {
  if (n_chunks <= 0) return;
  if (n_threads_ == 1 || n_chunks == 1) {
    // On the calling thread alone (no lock: nothing shared is touched).
    std::exception_ptr first;
    for (int64_t c = 0; c < n_chunks; ++c) {
      try {
        fn(c);
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
    return;
  }
  std::lock_guard<std::mutex> caller(caller_mutex_);
  job_ = &fn;
  const uint64_t gen = (ticket_gen(ticket_.load(std::memory_order_relaxed)) + 1) & kGenMask;
  done_.store(0, std::memory_order_relaxed);
  ticket_.store(gen << (2 * kChunkBits) | static_cast<uint64_t>(n_chunks) << kChunkBits, std::memory_order_release);
  {
    // Publishing under the mutex pairs with the sleepers' predicate check.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
  work_on(gen);
  poll_until([&] { return done_.load(std::memory_order_acquire) == n_chunks; }, /*may_sleep=*/false);
  rethrow_error();
}

void ThreadPool::worker(int /*index*/) {
  uint64_t seen = 0;
  for (;;) {
    auto changed = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!poll_until(changed, /*may_sleep=*/true)) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, changed);
      sleepers_.fetch_sub(1);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    work_on(ticket_gen(ticket_.load(std::memory_order_acquire)));
  }
}

}  // namespace r1
