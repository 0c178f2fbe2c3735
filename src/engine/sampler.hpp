// Token sampling. Order of operations (as llama.cpp's default chain, so the same
// settings mean the same thing): penalties -> top-k -> top-p -> min-p -> temperature
// -> draw. temperature <= 0 means greedy (argmax, first index on ties; penalties
// still apply). Same seed + same logits sequence => same tokens.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace r1 {

struct SamplingParams {
  float temperature = 0.6f;    // R1 model card
  float top_p = 0.95f;         // 1 = off
  int32_t top_k = 0;           // 0 = off
  float min_p = 0.0f;          // 0 = off
  float repeat_penalty = 1.0f; // 1 = off (llama.cpp semantics: divide positive logits)
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int32_t penalty_last_n = 64; // window for the penalties (-1 = whole history)
  uint64_t seed = 0xFFFFFFFFu; // 0xFFFFFFFF = random seed (unless exact_seed)
  bool exact_seed = false;     // true: `seed` is used as given, 0xFFFFFFFF included (the server's
                               // explicit "seed"); false keeps the CLI's 4294967295 = random
};

class Sampler {
 public:
  Sampler(const SamplingParams& params, int32_t n_vocab);
  // logits: n_vocab values (modified in place). Returns the chosen token id.
  int32_t sample(std::span<float> logits);
  // Records a token (prompt or generated) for the penalties.
  void accept(int32_t token);
  void reset_history();
  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }  // the effective seed

 private:
  SamplingParams params_;
  int32_t n_vocab_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<int32_t> history_;
  std::vector<std::pair<float, int32_t>> scratch_;  // (logit, id) candidates
  std::vector<double> weights_;                      // draw weights of the survivors
};

}  // namespace r1
