// DeepSeekMoE expert routing for one token (llama.cpp build_moe_ffn semantics).
//
//   probs = softmax(logits) | sigmoid(logits)
//   sel   = probs + bias                      (bias: exp_probs_b, V3 only; selection only)
//   n_group > 1: group score = sum of the 2 largest sel in each group; keep the
//                n_group_used best groups, other experts' sel = -inf
//   ids   = the n_used largest sel, best first
//   w     = probs[ids]                        (unbiased)
//   norm:  w /= max(sum(w), 6.103515625e-5)
//   scale: w *= scale  when scale is not 0 and not 1
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.hpp"

namespace r1 {

struct RouterParams {
  int64_t n_expert = 0;
  int64_t n_used = 0;
  int64_t n_group = 0;       // <= 1: no group limit
  int64_t n_group_used = 0;
  MoeGating gating = MoeGating::softmax;
  bool norm = false;
  float scale = 0.0f;

  static RouterParams from(const ModelConfig& c);
};

// logits: n_expert floats; bias: n_expert floats or null. Writes n_used expert ids
// (best selection score first) and their weights. scratch is resized as needed.
void route_token(const RouterParams& p, const float* logits, const float* bias, int32_t* ids, float* weights,
                 std::vector<float>& scratch);

}  // namespace r1
