#include "engine/bench.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "model/model.hpp"

namespace r1 {

namespace {

using Clock = std::chrono::steady_clock;
// The untimed depth prefill goes in chunks like llama.cpp's micro-batches, so that the
// activation scratch (and the peak RSS) stays that of a 512-token batch.
constexpr int64_t kDepthChunk = 512;

struct Timing {
  double wall_ns, cpu_s;
};
// Timed part of one repetition on caches that hold exactly the depth tokens: one
// forward pass of every sequence's prompt (prompts[i] for cache i), or gen[i].size()
// steps that each run one token of every sequence.
Timing run_timed(Model& model, std::span<const std::unique_ptr<KvCache>> kv,
                 const std::vector<std::vector<int32_t>>& prompts, const std::vector<std::vector<int32_t>>& gen) {
  std::vector<float> logits;
  std::vector<SeqBatch> seqs(kv.size());
  const double c0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  if (!prompts[0].empty()) {
    for (size_t i = 0; i < kv.size(); ++i) seqs[i] = {prompts[i], kv[i].get(), false};
    model.forward_batch(seqs, logits);
  }
  for (size_t step = 0; step < gen[0].size(); ++step) {
    for (size_t i = 0; i < kv.size(); ++i) seqs[i] = {std::span<const int32_t>(&gen[i][step], 1), kv[i].get(), false};
    model.forward_batch(seqs, logits);
  }
  const double wall = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  return {wall, process_cpu_seconds() - c0};
}

std::string test_name(int64_t n_prompt, int64_t n_gen, int64_t n_depth, int64_t n_seq) {
  std::string s = n_prompt > 0 ? fmt::format("pp{}", n_prompt) : fmt::format("tg{}", n_gen);
  if (n_seq > 1) s += fmt::format(" x{}", n_seq);
  if (n_depth > 0) s += fmt::format(" @ d{}", n_depth);
  return s;
}

}  // namespace

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double stddev_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + 1e-6 * static_cast<double>(tv.tv_usec); };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

std::vector<BenchResult> run_bench(Model& model, const BenchOptions& opts,
                                   const std::function<void(const BenchResult&)>& on_result) {
  if (opts.reps < 1) fail("bench: repetitions must be at least 1 (got {})", opts.reps);
  struct Test {
    int64_t p, n, d, b;
  };
  std::vector<Test> tests;
  for (int64_t b : opts.n_seq) {
    if (b < 1 || b > 4096) fail("bench: sequences per batch must be in [1, 4096] (got {})", b);
    for (int64_t d : opts.n_depth) {
      if (d < 0) fail("bench: negative depth {}", d);
      for (int64_t p : opts.n_prompt) {
        if (p < 0) fail("bench: negative prompt length {}", p);
        if (p > 0) tests.push_back({p, 0, d, b});
      }
      for (int64_t n : opts.n_gen) {
        if (n < 0) fail("bench: negative generation length {}", n);
        if (n > 0) tests.push_back({0, n, d, b});
      }
    }
  }
  const int64_t n_ctx = model.config().n_ctx_train;
  for (const Test& t : tests)
    if (t.d + t.p + t.n > n_ctx)
      fail("bench: {} needs {} positions but the model's context length is {}", test_name(t.p, t.n, t.d, t.b),
           t.d + t.p + t.n, n_ctx);

  std::mt19937_64 rng(opts.seed);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(model.config().n_vocab - 1));
  auto random_tokens = [&](int64_t n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (auto& id : ids) id = pick(rng);
    return ids;
  };
  auto random_rows = [&](int64_t b, int64_t n) {
    std::vector<std::vector<int32_t>> rows;
    for (int64_t i = 0; i < b; ++i) rows.push_back(random_tokens(n));
    return rows;
  };
  std::vector<BenchResult> out;
  for (const Test& t : tests) {
    BenchResult r;
    r.name = test_name(t.p, t.n, t.d, t.b);
    r.n_prompt = t.p, r.n_gen = t.n, r.n_depth = t.d, r.n_seq = t.b;
    r.n_threads = model.pool().size();
    // The depth is prefilled once (not timed); every repetition then rewinds the caches
    // to it, as llama-bench restores its saved depth state.
    std::vector<std::unique_ptr<KvCache>> kv;
    std::vector<float> logits;
    for (int64_t i = 0; i < t.b; ++i) {
      kv.push_back(model.new_cache(t.d + t.p + t.n));
      for (int64_t done = 0; done < t.d; done += kDepthChunk)
        model.forward(random_tokens(std::min(kDepthChunk, t.d - done)), *kv.back(), logits);
    }
    // Warm-up as llama-bench: the prompt once, or one generated token.
    run_timed(model, kv, random_rows(t.b, t.p), random_rows(t.b, t.p > 0 ? 0 : 1));
    const double tokens = static_cast<double>(t.b * (t.p + t.n));
    for (int i = 0; i < opts.reps; ++i) {
      for (auto& c : kv) c->truncate(t.d);
      const Timing tm = run_timed(model, kv, random_rows(t.b, t.p), random_rows(t.b, t.n));
      r.samples_ns.push_back(tm.wall_ns);
      r.samples_ts.push_back(tokens * 1e9 / tm.wall_ns);
      r.samples_cpu_ts.push_back(tm.cpu_s > 0 ? tokens / tm.cpu_s : 0.0);
    }
    r.avg_ns = mean_of(r.samples_ns), r.stddev_ns = stddev_of(r.samples_ns);
    r.avg_ts = mean_of(r.samples_ts), r.stddev_ts = stddev_of(r.samples_ts);
    r.avg_cpu_ts = mean_of(r.samples_cpu_ts);
    r.peak_rss_bytes = peak_rss_bytes();
    if (on_result) on_result(r);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace r1
