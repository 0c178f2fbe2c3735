// ThreadPool: every chunk runs exactly once per call, back-to-back calls do not mix,
// calls from two threads at once are serialised,
// oversubscribed pools (more threads than cores) finish, parallel_for covers [0, n)
// with per-chunk indices below size(), and idle pools sleep and shut down cleanly.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "base/thread_pool.hpp"

namespace r1 {
namespace {

TEST(ThreadPool, EveryChunkExactlyOnceOverManyCalls) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    ASSERT_EQ(pool.size(), threads);
    for (int call = 0; call < 2000; ++call) {
      const int64_t n = call % 37;
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.run_chunks(n, [&](int64_t c) { hits[static_cast<size_t>(c)].fetch_add(1); });
      for (int64_t c = 0; c < n; ++c) ASSERT_EQ(hits[static_cast<size_t>(c)].load(), 1) << threads << " " << call;
    }
  }
}

TEST(ThreadPool, CallersOnSeveralThreadsAreSerialised) {
  // Two threads share one pool (as two sessions on one model do): each of their calls
  // still runs its own chunks exactly once and returns.
  ThreadPool pool(2);
  std::atomic<int> bad{0};
  auto caller = [&](int salt) {
    for (int call = 0; call < 3000; ++call) {
      const int64_t n = 2 + (call + salt) % 9;
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.run_chunks(n, [&](int64_t c) { hits[static_cast<size_t>(c)].fetch_add(1); });
      for (int64_t c = 0; c < n; ++c) bad += hits[static_cast<size_t>(c)].load() != 1;
    }
  };
  std::thread other(caller, 5);
  caller(0);
  other.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(ThreadPool, RunGivesEachIndexOnce) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> hits(4);
  for (int i = 0; i < 100; ++i) pool.run([&](int t) { hits[static_cast<size_t>(t)].fetch_add(1); });
  for (auto& h : hits) EXPECT_EQ(h.load(), 100);
}

TEST(ThreadPool, ParallelForCoversRangeWithChunkIndices) {
  ThreadPool pool(3);
  for (int64_t n : {0, 1, 5, 64, 1001}) {
    std::vector<int> seen(static_cast<size_t>(n), 0);
    std::atomic<bool> bad_index{false};
    pool.parallel_for(n, [&](int64_t b, int64_t e, int t) {
      if (t < 0 || t >= pool.size()) bad_index = true;
      for (int64_t i = b; i < e; ++i) ++seen[static_cast<size_t>(i)];
    }, 4);
    for (int v : seen) EXPECT_EQ(v, 1);
    EXPECT_FALSE(bad_index.load());
  }
}

// A slow chunk on one thread: the others take the remaining chunks meanwhile.
TEST(ThreadPool, OtherThreadsTakeOverWhileOneIsBusy) {
  ThreadPool pool(2);
  std::atomic<int> done{0};
  pool.run_chunks(50, [&](int64_t c) {
    if (c == 0) std::this_thread::sleep_for(std::chrono::milliseconds(30));
    done.fetch_add(1);
  });
  EXPECT_EQ(done.load(), 50);
}

TEST(ThreadPool, IdlePoolSleepsAndShutsDown) {
  auto pool = std::make_unique<ThreadPool>(4);
  std::atomic<int> n{0};
  pool->run([&](int) { n.fetch_add(1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // workers go to sleep
  pool->run([&](int) { n.fetch_add(1); });
  pool.reset();
  EXPECT_EQ(n.load(), 8);
}

}  // namespace
}  // namespace r1
