// Generation traces: one JSON object per line (JSONL), appended to a file, for
// later inspection, distillation (SFT) and evaluation.
//
// Line format (keys in this order; every key always present):
//   {"time": "2025-01-31T12:00:00.123Z", "model": PATH,
//    "prompt": <messages array or prompt text>, "prompt_text": RENDERED,
//    "reasoning": TEXT, "content": TEXT, "finish_reason": "stop"|...,
//    "tokens": {"prompt", "cached", "reasoning", "content", "generated"},
//    "timings": {"prefill_ms", "decode_ms", "prefill_tps", "decode_tps"},
//    "sampling": {"temperature", "top_p", "top_k", "min_p", "repeat_penalty",
//                 "presence_penalty", "frequency_penalty", "penalty_last_n", "seed"},
//    ...extra keys}
// Invalid UTF-8 in any text is written as U+FFFD (the line is always valid JSON).
//
// Concurrency contract: append() writes the whole line with a single write() on a
// descriptor opened with O_APPEND, so lines from concurrent writers (threads or
// processes, each with its own TraceWriter or sharing one) never interleave. A
// failed or short write throws r1::Error (a short write can only happen when the
// disk is full; the partial line is then the last thing in the file).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/sampler.hpp"

namespace r1 {

struct TraceRecord {
  std::string model;                // model file path
  nlohmann::ordered_json prompt;    // the request: messages array, or the prompt text
  std::string prompt_text;          // the rendered prompt fed to the model (may be empty)
  std::string reasoning;            // text inside <think>...</think>
  std::string content;              // the answer
  std::string finish_reason;        // "stop" | "length" | "cancelled" | "budget"
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;
  int32_t reasoning_tokens = 0;
  int32_t content_tokens = 0;
  int32_t generated_tokens = 0;
  double prefill_ms = 0;
  double decode_ms = 0;
  SamplingParams sampling;          // as requested
  uint64_t seed = 0;                // the effective seed (Sampler::seed())
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // appended keys
};

// The record as the JSON object written on one line (time = now).
nlohmann::ordered_json trace_to_json(const TraceRecord& r);

class TraceWriter {
 public:
  // Opens (creating if needed, mode 0644) `path` for appending; r1::Error on failure.
  explicit TraceWriter(const std::string& path);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  void append(const TraceRecord& r) const;
  // Any JSON object, as one line (same atomicity guarantee).
  void append_json(const nlohmann::ordered_json& line) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace r1
