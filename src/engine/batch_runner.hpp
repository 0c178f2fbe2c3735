// The one generation loop: many Generations (generate.hpp), each on its own Session,
// driven through batched forward passes of one model. generate() runs a batch of one
// (run / chat / the C and C++ API), the server's scheduler a batch of its slots, eval
// and GRPO rollouts a batch of samples.
//
// Contracts:
// - step() runs ONE Model::forward_batch over every entry: a decoding entry feeds the
//   token its generation produced last, a prefilling one its next prompt chunk (all
//   prefill chunks of a step share `prefill_budget` tokens, oldest entry first, so a long
//   prompt does not stall the others' decoding for long). Then every entry whose prompt
//   is complete steps its Generation on its own logits row (on the model's pool when
//   there are several). Rows are computed independently, so an entry's tokens do not
//   depend on what it is batched with, up to the float order of F32/F16 products.
// - add() reuses the longest prefix the session's cache already holds (at most the
//   prompt length - 1: the last prompt token's logits are needed) and records it as
//   GenerateSummary::cached_tokens.
// - Timing: summary.prefill_ms runs from add() to the end of the entry's prefill,
//   summary.decode_ms from there to the step its generation ended (or remove()).
// - An entry whose generation ended (a token with finished(), or step() returning false)
//   is reported done once and leaves the runner; its finish() is the caller's. A
//   Generation::step() that throws ends only that entry (outcome.error); a forward pass
//   that throws ends every entry of the step with the error.
// - The session's cache holds the prompt and every generated token that was fed back.
// - Speculative decoding (speculation.hpp), when enabled: a decoding entry feeds its last
//   token plus up to draft_max drafted tokens with logits for each, and its Generation
//   steps on row after row while the token it produced is the next draft; the rest is cut
//   from the cache. Such an entry yields several outcomes in one step, in order (only the
//   last can be done); GenerateSummary counts draft_tokens and draft_accepted.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/generate.hpp"
#include "engine/speculation.hpp"

namespace r1 {

class Model;
class Session;

class BatchRunner {
 public:
  // Throws r1::Error for invalid speculation options (SpeculationOptions::validate).
  explicit BatchRunner(Model& model, int32_t prefill_budget = 512, SpeculationOptions spec = {});
  ~BatchRunner();

  // Starts `gen` on `session` (both must outlive the entry). Returns the entry's id.
  int64_t add(Session& session, Generation& gen);
  // Takes an entry out before its generation ended (the caller cancels it); sets its timing.
  void remove(int64_t id);
  size_t size() const { return entries_.size(); }

  struct Outcome {
    int64_t id = -1;
    bool has_token = false;   // ev holds a token event
    GenerateEvent ev;
    bool prefilled = false;   // the prompt finished prefilling in this step
    bool done = false;        // the generation ended (or failed): the entry left the runner
    std::string error;        // non-empty when it failed
  };
  // One batched step (see the contracts). Entries still prefilling without budget this
  // step do not appear; a speculating entry may appear several times. Returns nothing
  // when the runner is empty.
  std::vector<Outcome> step();

  // What the last step() ran (for metrics).
  struct StepStats {
    int64_t sequences = 0, tokens = 0;
    int64_t drafted = 0, accepted = 0;  // speculative decoding
    double forward_seconds = 0;
  };
  const StepStats& last_step() const { return stats_; }

 private:
  struct Entry {
    int64_t id;
    Session* session;
    Generation* gen;
    size_t prefill_pos;      // prompt tokens in the cache
    int32_t next_token = -1; // decoding: the token to feed
    double t_start = 0, t_decode = 0;
    std::unique_ptr<Drafter> drafter;  // null without speculation
    std::vector<int32_t> feed;         // decoding: next_token, then this step's drafts
  };
  // Drafts for decoding entry e (appended to e.feed), within its context and token limits.
  void draft(Entry& e);
  Model& model_;
  int32_t prefill_budget_;
  SpeculationOptions spec_;
  std::vector<int32_t> history_;  // scratch: a session's tokens plus its next token
  int64_t next_id_ = 0;
  std::vector<Entry> entries_;  // in order of addition
  std::vector<float> logits_;
  StepStats stats_;
};

}  // namespace r1
