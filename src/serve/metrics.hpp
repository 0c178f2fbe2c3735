// Server metrics in the Prometheus text exposition format (GET /metrics).
//
// Contract: every method is thread-safe (one mutex; updates are a few adds).
// Counters only grow; gauges are sampled when rendered (queue depth and busy
// slots come from the scheduler through `render`'s arguments).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace r1::serve {

// A cumulative histogram with fixed upper bounds (seconds).
struct Histogram {
  std::vector<double> bounds;    // (n) ascending upper bounds; +Inf is implicit
  std::vector<uint64_t> counts;  // (n + 1) per-bucket counts, the last for +Inf
  double sum = 0;
  uint64_t count = 0;

  explicit Histogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}
  void observe(double v);
};

struct SchedulerGauges {
  int64_t queued = 0;  // requests (choices) waiting for a slot
  int64_t busy = 0;    // slots generating
  int64_t slots = 0;   // slots in all
  int64_t cache_bytes = 0, cache_entries = 0;     // host prompt cache now
  int64_t cache_hits = 0, cache_tokens = 0;       // prompts resumed from it, and the tokens it gave them
};

class Metrics {
 public:
  Metrics();

  // One HTTP request answered with `status` on `endpoint` (the route, not the raw path).
  void request_done(const std::string& endpoint, int status);
  void rejected(const std::string& reason);  // queue_full | shutting_down
  // One choice finished.
  void generation_done(int64_t prompt_tokens, int64_t cached_tokens, int64_t reasoning_tokens,
                       int64_t content_tokens, double prefill_s, double decode_s, bool cancelled);
  void time_to_first_token(double s);
  void inter_token(double s);
  // drafted / accepted: speculative decoding's tokens verified in the step, and accepted.
  void batch_step(int64_t sequences, int64_t tokens, double seconds, int64_t drafted = 0, int64_t accepted = 0);

  std::string render(const SchedulerGauges& g) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
  std::map<std::string, uint64_t> rejected_;
  uint64_t generations_ = 0, cancelled_ = 0;
  uint64_t prompt_tokens_ = 0, cached_tokens_ = 0, reasoning_tokens_ = 0, content_tokens_ = 0;
  double prefill_s_ = 0, decode_s_ = 0;
  uint64_t steps_ = 0, step_sequences_ = 0, step_tokens_ = 0;
  uint64_t drafted_ = 0, draft_accepted_ = 0;
  double step_s_ = 0;
  Histogram ttft_, itl_, batch_size_;
};

}  // namespace r1::serve
