// Batched sampling for evaluation and RL: many independent sequences decoded together
// by the engine's batch runner (engine/batch_runner.hpp: one pass over the weights per
// step for all active sequences; new prompts are prefilled in the same passes), each a
// Generation on its own Session.
//
// Contracts:
// - Sequence i is sampled with its own Sampler seeded with seeds[i], so what a
//   sequence draws does not depend on the other sequences (the logits may differ in
//   the last float bits with the batch composition).
// - A sequence ends at an end-of-generation token (not included in tokens), or after
//   max_tokens generated tokens (truncated = true).
// - reasoning/content and reasoning_tokens are the engine's (ReasoningParser and the
//   Generation's token accounting), with surrounding whitespace trimmed: the prompt
//   opened the reasoning block (starts_in_reasoning) or the output opens it; content is
//   empty when the reasoning never closed.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/sampler.hpp"
#include "engine/speculation.hpp"

namespace r1 {
class Model;
class Tokenizer;
}

namespace r1::eval {

struct RolloutOptions {
  SamplingParams sampling;     // seed is replaced per sequence
  int32_t max_tokens = 512;
  int32_t max_batch = 32;      // sequences decoded together
  SpeculationOptions speculation;  // per sequence (the same tokens, fewer steps)
};

struct RolloutSample {
  std::vector<int32_t> tokens;   // generated ids (end-of-generation excluded)
  std::string text;              // decoded tokens
  std::string reasoning;         // trimmed
  std::string content;           // trimmed; empty when the reasoning never closed
  int64_t reasoning_tokens = 0;
  bool closed_reasoning = false; // "</think>" was generated
  bool truncated = false;
};

using RolloutProgress = std::function<void(size_t done, size_t total)>;

std::vector<RolloutSample> rollout(Model& model, const std::vector<std::vector<int32_t>>& prompts,
                                   const std::vector<uint64_t>& seeds, bool starts_in_reasoning,
                                   const RolloutOptions& opts, const RolloutProgress& progress = {});

}  // namespace r1::eval
