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

void ThreadPool::run(const std::function<void(int)>& fn) {
  if (n_threads_ == 1) {
    fn(0);
    return;
  }
  job_ = &fn;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    // Publishing under the mutex pairs with the sleepers' predicate check.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
  fn(0);
  poll_until([&] { return pending_.load(std::memory_order_acquire) == 0; }, /*may_sleep=*/false);
  job_ = nullptr;
}

void ThreadPool::worker(int index) {
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
    (*job_)(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace r1
