// ThreadPool and exceptions: a chunk that throws (on a worker or on the calling
// thread) does not end the process or hang the call; every chunk still runs, the
// first exception reaches the caller after all chunks finished, and the pool keeps
// working afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "base/thread_pool.hpp"

namespace r1 {
namespace {

TEST(ThreadPoolExceptions, WorkerThrowReachesCallerAndPoolStaysUsable) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    const std::thread::id caller = std::this_thread::get_id();
    int worker_throws = 0;
    for (int round = 0; round < 30; ++round) {
      std::atomic<int> ran{0}, thrown{0}, on_worker{0};
      try {
        pool.run_chunks(64, [&](int64_t c) {
          ran.fetch_add(1);
          const bool is_caller = std::this_thread::get_id() == caller;
          // The caller is slow, so the workers take most chunks (and throw from them).
          if (is_caller && threads > 1) std::this_thread::sleep_for(std::chrono::microseconds(500));
          if (c % 7 == 3) {
            thrown.fetch_add(1);
            if (!is_caller) on_worker.fetch_add(1);
            throw std::runtime_error("chunk " + std::to_string(c));
          }
        });
        FAIL() << "no exception reached the caller (threads " << threads << ")";
      } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("chunk ", 0), 0u) << e.what();
      }
      EXPECT_EQ(ran.load(), 64) << "every chunk runs even when some throw";
      EXPECT_EQ(thrown.load(), 9);
      worker_throws += on_worker.load();
      // The same pool runs the next job normally.
      std::atomic<int> after{0};
      pool.run_chunks(100, [&](int64_t) { after.fetch_add(1); });
      ASSERT_EQ(after.load(), 100) << "threads " << threads << " round " << round;
    }
    if (threads > 1) EXPECT_GT(worker_throws, 0) << "no chunk threw on a worker thread: the test proved nothing";
  }
}

TEST(ThreadPoolExceptions, CallerChunkThrowWaitsForTheWorkers) {
  ThreadPool pool(4);
  const std::thread::id caller = std::this_thread::get_id();
  for (int round = 0; round < 30; ++round) {
    std::atomic<int> finished{0};
    bool caught = false;
    try {
      pool.run_chunks(16, [&](int64_t) {
        if (std::this_thread::get_id() == caller) throw std::runtime_error("caller chunk");
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        finished.fetch_add(1);
      });
    } catch (const std::runtime_error&) {
      caught = true;
    }
    // The caller always claims at least one chunk (it works too), so it threw; the
    // call returned only after the workers' chunks were done.
    EXPECT_TRUE(caught);
    const int seen = finished.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_EQ(finished.load(), seen) << "a chunk was still running after the call returned";
  }
}

TEST(ThreadPoolExceptions, ParallelForPropagatesAndPoolStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(1000, [](int64_t b, int64_t, int) {
                 if (b > 0) throw std::logic_error("not the first chunk");
               }),
               std::logic_error);
  std::atomic<int64_t> covered{0};
  pool.parallel_for(1000, [&](int64_t b, int64_t e, int) { covered.fetch_add(e - b); });
  EXPECT_EQ(covered.load(), 1000);
}

TEST(ThreadPoolExceptions, OnlyTheFirstExceptionIsRethrownAndNotTwice) {
  ThreadPool pool(4);
  try {
    pool.run_chunks(32, [](int64_t c) { throw std::runtime_error("c" + std::to_string(c)); });
    FAIL() << "expected an exception";
  } catch (const std::runtime_error&) {
  }
  // A later job that does not throw must not see the earlier job's exceptions.
  EXPECT_NO_THROW(pool.run_chunks(32, [](int64_t) {}));
  EXPECT_NO_THROW(pool.run([](int) {}));
}

}  // namespace
}  // namespace r1
