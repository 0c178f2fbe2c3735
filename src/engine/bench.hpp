// Throughput benchmark of a loaded model, llama-bench style (`r1 bench`).
//
// Tests: for every depth d and thread count, one prompt-processing test per prompt
// length p > 0 ("pp<p>", the p tokens prefilled in one forward pass, as llama-bench
// does with its default batch of 2048) and one text-generation test per generation
// length n > 0 ("tg<n>", n single-token forward passes, logits for each). Depth d > 0
// first fills the cache with d tokens, once per test and not timed: "tg128 @ d2048";
// every repetition rewinds the cache to those d tokens. Token ids are random (uniform
// over the vocabulary, fixed seed); no sampling is timed, as in llama-bench.
// Each test runs once as a warm-up (pages the weights in), then `reps` timed times;
// rates are tokens per second of each repetition, reported as mean and sample
// standard deviation.
// Batched tests (n_seq > 1, llama.cpp's batched-bench): n_seq sequences, each with its
// own cache (and depth), run together through Model::forward_batch: "pp<p> x<B>" prefills
// the B prompts of p tokens in one call; "tg<n> x<B>" runs n steps of one token for each
// of the B sequences. Rates are aggregate: B * p (or B * n) tokens over the wall time.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace r1 {

class Model;

struct BenchOptions {
  std::vector<int64_t> n_prompt{512};
  std::vector<int64_t> n_gen{128};
  std::vector<int64_t> n_depth{0};
  std::vector<int64_t> n_seq{1};  // sequences run together (batched tests when > 1)
  int reps = 5;
  uint64_t seed = 1234;
};

struct BenchResult {
  std::string name;         // "pp512", "tg128", "tg128 @ d2048", "tg128 x8"
  int64_t n_prompt = 0;     // tokens prefilled in the timed part (0 for tg tests)
  int64_t n_gen = 0;        // tokens generated in the timed part (0 for pp tests)
  int64_t n_depth = 0;      // tokens in each cache before the timed part
  int64_t n_seq = 1;        // sequences run together (rates count the tokens of all)
  int n_threads = 0;
  std::vector<double> samples_ns;  // one per repetition
  std::vector<double> samples_ts;  // tokens per second, one per repetition
  // Tokens per second of process CPU time (user + system, all threads): on a machine
  // shared with other work this tracks the work done, where wall time tracks the share.
  std::vector<double> samples_cpu_ts;
  double avg_ns = 0, stddev_ns = 0, avg_ts = 0, stddev_ts = 0, avg_cpu_ts = 0;
  int64_t peak_rss_bytes = 0;  // process peak resident set after this test
};

// Runs every test on `model` (its thread pool decides the thread count). `on_result`
// is called after each test, so callers can print rows as they come. Throws r1::Error
// if a test does not fit in the model's context length.
std::vector<BenchResult> run_bench(Model& model, const BenchOptions& opts,
                                   const std::function<void(const BenchResult&)>& on_result = {});

// Mean and sample standard deviation (0 for fewer than two values).
double mean_of(const std::vector<double>& v);
double stddev_of(const std::vector<double>& v);

// Peak resident set size of this process so far, in bytes (getrusage).
int64_t peak_rss_bytes();
// User + system CPU seconds of this process so far (all threads).
double process_cpu_seconds();

}  // namespace r1
