#include "serve/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace r1::serve {

void Histogram::observe(double v) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
  ++counts[i];
  sum += v;
  ++count;
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}),
      batch_size_({1, 2, 4, 8, 16, 32, 64}) {}

void Metrics::request_done(const std::string& endpoint, int status) {
  std::lock_guard lk(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::rejected(const std::string& reason) {
  std::lock_guard lk(mu_);
  ++rejected_[reason];
}

void Metrics::generation_done(int64_t prompt_tokens, int64_t cached_tokens, int64_t reasoning_tokens,
                              int64_t content_tokens, double prefill_s, double decode_s, bool cancelled) {
  std::lock_guard lk(mu_);
  ++generations_;
  if (cancelled) ++cancelled_;
  prompt_tokens_ += static_cast<uint64_t>(prompt_tokens);
  cached_tokens_ += static_cast<uint64_t>(cached_tokens);
  reasoning_tokens_ += static_cast<uint64_t>(reasoning_tokens);
  content_tokens_ += static_cast<uint64_t>(content_tokens);
  prefill_s_ += prefill_s;
  decode_s_ += decode_s;
}

void Metrics::time_to_first_token(double s) {
  std::lock_guard lk(mu_);
  ttft_.observe(s);
}

void Metrics::inter_token(double s) {
  std::lock_guard lk(mu_);
  itl_.observe(s);
}

void Metrics::batch_step(int64_t sequences, int64_t tokens, double seconds, int64_t drafted, int64_t accepted) {
  std::lock_guard lk(mu_);
  ++steps_;
  drafted_ += static_cast<uint64_t>(drafted);
  draft_accepted_ += static_cast<uint64_t>(accepted);
  step_sequences_ += static_cast<uint64_t>(sequences);
  step_tokens_ += static_cast<uint64_t>(tokens);
  step_s_ += seconds;
  batch_size_.observe(static_cast<double>(sequences));
}

namespace {

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void histogram(std::string& out, const char* name, const char* help, const Histogram& h) {
  header(out, name, "histogram", help);
  uint64_t cum = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cum += h.counts[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, h.bounds[i], cum);
  }
  cum += h.counts.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cum, name, h.sum, name, h.count);
}

}  // namespace

std::string Metrics::render(const SchedulerGauges& g) const {
  std::lock_guard lk(mu_);
  std::string out;
  header(out, "r1_requests_total", "counter", "HTTP requests answered, by route and status");
  for (const auto& [key, n] : requests_)
    out += fmt::format("r1_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", key.first, key.second, n);
  header(out, "r1_requests_rejected_total", "counter", "requests refused before generation, by reason");
  for (const char* reason : {"queue_full", "shutting_down"}) {
    auto it = rejected_.find(reason);
    out += fmt::format("r1_requests_rejected_total{{reason=\"{}\"}} {}\n", reason, it == rejected_.end() ? 0 : it->second);
  }
  header(out, "r1_generations_total", "counter", "choices generated (finished or cancelled)");
  out += fmt::format("r1_generations_total {}\n", generations_);
  header(out, "r1_generations_cancelled_total", "counter", "choices cancelled (client gone or shutdown)");
  out += fmt::format("r1_generations_cancelled_total {}\n", cancelled_);
  header(out, "r1_prompt_tokens_total", "counter", "prompt tokens of finished choices");
  out += fmt::format("r1_prompt_tokens_total {}\n", prompt_tokens_);
  header(out, "r1_prompt_tokens_cached_total", "counter", "prompt tokens reused from a slot's cache (not recomputed)");
  out += fmt::format("r1_prompt_tokens_cached_total {}\n", cached_tokens_);
  header(out, "r1_generated_tokens_total", "counter", "generated tokens, by part of the output");
  out += fmt::format("r1_generated_tokens_total{{part=\"reasoning\"}} {}\n", reasoning_tokens_);
  out += fmt::format("r1_generated_tokens_total{{part=\"content\"}} {}\n", content_tokens_);
  header(out, "r1_prefill_seconds_total", "counter", "wall time of choices in prefill");
  out += fmt::format("r1_prefill_seconds_total {}\n", prefill_s_);
  header(out, "r1_decode_seconds_total", "counter", "wall time of choices in decode");
  out += fmt::format("r1_decode_seconds_total {}\n", decode_s_);
  const double prefilled = static_cast<double>(prompt_tokens_ - cached_tokens_);
  header(out, "r1_prefill_tokens_per_second", "gauge", "prompt tokens prefilled per second of prefill, per choice, averaged");
  out += fmt::format("r1_prefill_tokens_per_second {}\n", prefill_s_ > 0 ? prefilled / prefill_s_ : 0.0);
  header(out, "r1_decode_tokens_per_second", "gauge", "tokens generated per second of decode, per choice, averaged");
  out += fmt::format("r1_decode_tokens_per_second {}\n",
                     decode_s_ > 0 ? static_cast<double>(reasoning_tokens_ + content_tokens_) / decode_s_ : 0.0);
  header(out, "r1_batch_steps_total", "counter", "batched forward passes");
  out += fmt::format("r1_batch_steps_total {}\n", steps_);
  header(out, "r1_batch_tokens_total", "counter", "tokens processed by batched forward passes");
  out += fmt::format("r1_batch_tokens_total {}\n", step_tokens_);
  header(out, "r1_draft_tokens_total", "counter", "speculative decoding: drafted tokens verified");
  out += fmt::format("r1_draft_tokens_total {}\n", drafted_);
  header(out, "r1_draft_accepted_total", "counter", "speculative decoding: drafted tokens accepted");
  out += fmt::format("r1_draft_accepted_total {}\n", draft_accepted_);
  header(out, "r1_batch_busy_seconds_total", "counter", "wall time spent in batched forward passes");
  out += fmt::format("r1_batch_busy_seconds_total {}\n", step_s_);
  header(out, "r1_queue_depth", "gauge", "choices waiting for a slot");
  out += fmt::format("r1_queue_depth {}\n", g.queued);
  header(out, "r1_slots_busy", "gauge", "slots generating");
  out += fmt::format("r1_slots_busy {}\n", g.busy);
  header(out, "r1_slots_total", "gauge", "slots (--parallel)");
  out += fmt::format("r1_slots_total {}\n", g.slots);
  header(out, "r1_prompt_cache_bytes", "gauge", "bytes of the host-RAM prompt cache (--cache-ram)");
  out += fmt::format("r1_prompt_cache_bytes {}\n", g.cache_bytes);
  header(out, "r1_prompt_cache_entries", "gauge", "snapshots in the host-RAM prompt cache");
  out += fmt::format("r1_prompt_cache_entries {}\n", g.cache_entries);
  header(out, "r1_prompt_cache_hits_total", "counter", "prompts resumed from the host-RAM prompt cache");
  out += fmt::format("r1_prompt_cache_hits_total {}\n", g.cache_hits);
  header(out, "r1_prompt_cache_tokens_total", "counter", "prompt tokens restored from the host-RAM prompt cache");
  out += fmt::format("r1_prompt_cache_tokens_total {}\n", g.cache_tokens);
  histogram(out, "r1_time_to_first_token_seconds", "time from arrival to the first generated token", ttft_);
  histogram(out, "r1_inter_token_seconds", "time between two generated tokens of one choice", itl_);
  histogram(out, "r1_batch_sequences", "sequences per batched forward pass", batch_size_);
  return out;
}

}  // namespace r1::serve
