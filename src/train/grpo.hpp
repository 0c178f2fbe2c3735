// GRPO (Group Relative Policy Optimization, DeepSeekMath / DeepSeek-R1) with
// rule-based rewards and no critic.
//
// Each step:
//   1. prompts_per_step prompts (an order shuffled per epoch from the seed);
//   2. `group` samples per prompt from the current policy, with the inference engine
//      running on the trainer's live parameters (Model::over_floats: no copy, no file);
//   3. rewards per sample: "boxed-match" (the answer after </think> is verified
//      correct) and "think-format" (the reasoning block is closed exactly once and
//      an answer follows), each with a weight (name[:weight]);
//   4. advantages A = (r - mean(group)) / (std(group) + 1e-4); groups whose rewards
//      are all equal carry no signal and are left out of the update;
//   5. `epochs` updates on the batch minimising, per generated token t of sample i,
//        (1/|o_i|) * -( min(ratio A, clip(ratio, 1-eps, 1+eps) A) - beta * KL_t ) / n_samples
//      with ratio = p(t) / p_old(t), KL_t = exp(ref - logp) - (ref - logp) - 1 (the k3
//      estimator against the frozen reference model = the initial policy);
//   6. a log row: mean reward, accuracy, format share, KL per token, reasoning and
//      total length, share truncated, gradient norm.
// The end-of-sequence token of a finished sample is an action like any other.
// Checkpoints and --resume as in SFT (the reference is reloaded from --init).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/sampler.hpp"
#include "train/model_io.hpp"
#include "train/optimizer.hpp"
#include "train/run.hpp"

namespace r1::train {

struct GrpoOptions {
  std::string init;             // starting policy and frozen reference (GGUF)
  std::string prompts;          // JSONL problems (the `r1 eval` format)
  std::string prompt_suffix;    // appended to the last user message
  std::string out;              // output model .gguf
  std::vector<std::string> rewards = {"boxed-match", "think-format:0.2"};
  int group = 8;
  int prompts_per_step = 8;
  int64_t steps = 100;
  int epochs = 1;
  float clip_eps = 0.2f;
  float kl_coef = 0.04f;
  SamplingParams sampling;      // temperature 1.0, top-p 1.0 by default (set by the caller)
  int32_t max_tokens = 512;
  int32_t max_batch = 64;       // sequences decoded together
  int64_t micro_tokens = 4096;
  AdamWConfig opt;              // total_steps is set from steps
  int threads = 0;
  uint64_t seed = 1;
  int64_t log_every = 1;
  int64_t save_every = 20;
  bool resume = false;
  bool resume_force = false;    // resume even when the fingerprint differs (train/fingerprint.hpp)
  std::string checkpoint;       // default: <out>.ckpt.gguf
  FileType export_type = FileType::f32;
  double max_seconds = 0;
};

struct GrpoResult {
  int64_t steps = 0;
  double last_reward = 0, last_accuracy = 0;
};

GrpoResult run_grpo(const GrpoOptions& o, const LogFn& log);

// Per-token gradient of the GRPO objective with respect to log p(token), for one
// generated token (see step 5 above, before the 1/|o_i| / n_samples scaling).
double grpo_dlogp(double logp, double logp_old, double logp_ref, double advantage, double clip_eps, double kl_coef);
// The k3 KL estimator exp(ref - logp) - (ref - logp) - 1.
double kl_k3(double logp, double logp_ref);

}  // namespace r1::train
