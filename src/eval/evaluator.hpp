// `r1 eval`: k samples per problem from a JSONL set, verified answers, metrics.
//
// Input lines (JSON objects), any of:
//   {"question"|"problem"|"prompt": "...", "answer": "..."}        (GSM8K "#### n" ok)
//   {"messages": [...], "answer": "..."}   the prompt is the messages before the first
//                                          assistant turn; without "answer", the
//                                          reference is the \boxed{} of that assistant
//                                          turn's content
//   optional: "id", "kind" and "split" (results are also grouped by kind),
//   "verifier": "countdown" with "numbers" and "target", "solution" (MATH: the
//   reference is its \boxed{}).
// The prompt is rendered with the model's chat template (as `r1 run` does) with
// prompt_suffix appended to the last user message.
//
// Output: every sample as one JSONL line (id, sample index, seed, reasoning,
// content, extracted answer, correct, token counts, truncated), appended as it
// finishes; a rerun with the same output file skips the (id, sample) pairs already
// there (an interrupted run resumes; a torn last line is dropped). Then
// <out>.summary.json, <out>.csv (one row per group) and <out>.svg (pass@k over k).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/sampler.hpp"
#include "engine/speculation.hpp"

#include "eval/metrics.hpp"
#include "eval/verifier.hpp"

namespace r1 {
class Model;
}

namespace r1::eval {

struct EvalOptions {
  std::string data;             // input JSONL
  std::string out;              // samples JSONL (default: <data without .jsonl>.samples.jsonl)
  int samples = 1;              // k
  SamplingParams sampling;      // temperature / top-p / ...; seed = base seed
  int32_t max_tokens = 1024;
  int32_t max_batch = 32;
  int64_t limit = 0;            // first N problems only (0 = all)
  std::string prompt_suffix;    // appended to the last user message
  SpeculationOptions speculation;  // speculative decoding of the samples
};

struct EvalReport {
  Summary overall;
  std::map<std::string, Summary> by_group;  // by "kind" (when the data has it)
  std::string samples_path, summary_path;
};

using EvalLog = std::function<void(const std::string&)>;

EvalReport run_eval(Model& model, const EvalOptions& o, const EvalLog& log);

// One problem of an eval set, parsed (exposed for GRPO prompts and tests).
struct EvalProblem {
  std::string id, group;
  nlohmann::json messages;  // the prompt conversation
  Reference ref;
};
// Throws r1::Error naming the file and line for malformed input.
std::vector<EvalProblem> load_eval_set(const std::string& path, const std::string& prompt_suffix = "");

}  // namespace r1::eval
