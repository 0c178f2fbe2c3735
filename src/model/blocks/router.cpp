#include "model/blocks/router.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/ggml_order.hpp"

namespace r1 {

RouterParams RouterParams::from(const ModelConfig& c) {
  RouterParams p;
  p.n_expert = c.moe.n_expert;
  p.n_used = c.moe.n_expert_used;
  p.n_group = c.moe.n_group;
  p.n_group_used = c.moe.n_group_used;
  p.gating = c.moe.gating;
  p.norm = c.moe.weights_norm;
  p.scale = c.moe.weights_scale;
  return p;
}

namespace {

// Indices of the k largest values, largest first; ties keep the lower index first.
void top_k(const float* v, int64_t n, int64_t k, int32_t* out, std::vector<int32_t>& idx) {
  idx.resize(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [v](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  std::copy(idx.begin(), idx.begin() + k, out);
}

}  // namespace

void route_token(const RouterParams& p, const float* logits, const float* bias, int32_t* ids, float* weights,
                 std::vector<float>& scratch) {
  const int64_t E = p.n_expert;
  assert(p.n_used >= 1 && p.n_used <= E);
  scratch.resize(static_cast<size_t>(2 * E + std::max<int64_t>(p.n_group, 1)));
  float* probs = scratch.data();
  float* sel = probs + E;
  float* group_score = sel + E;

  if (p.gating == MoeGating::softmax) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t e = 0; e < E; ++e) mx = std::max(mx, logits[e]);
    // ggml_vec_soft_max_f32: ggml_v_expf on whole vectors, each vector's sum added to a
    // double; libm expf on the tail; then scaled by (float)(1 / sum).
    const int lanes = ggml_lanes();
    double sum = 0;
    int64_t e0 = 0;
    for (; e0 + lanes <= E; e0 += lanes) {
      for (int64_t e = e0; e < e0 + lanes; ++e) probs[e] = ggml_expf(logits[e] - mx, lanes);
      sum += static_cast<double>(ggml_hsum(probs + e0, lanes));
    }
    for (int64_t e = e0; e < E; ++e) {
      probs[e] = std::exp(logits[e] - mx);
      sum += probs[e];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t e = 0; e < E; ++e) probs[e] *= inv;
  } else {
    for (int64_t e = 0; e < E; ++e) probs[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  }
  for (int64_t e = 0; e < E; ++e) sel[e] = bias ? probs[e] + bias[e] : probs[e];

  thread_local std::vector<int32_t> idx;
  if (p.n_group > 1) {
    const int64_t per = E / p.n_group;
    for (int64_t g = 0; g < p.n_group; ++g) {
      int32_t best[2];
      top_k(sel + g * per, per, 2, best, idx);
      group_score[g] = sel[g * per + best[0]] + sel[g * per + best[1]];
    }
    std::vector<int32_t> keep(static_cast<size_t>(p.n_group_used));
    top_k(group_score, p.n_group, p.n_group_used, keep.data(), idx);
    std::vector<bool> kept(static_cast<size_t>(p.n_group), false);
    for (int32_t g : keep) kept[static_cast<size_t>(g)] = true;
    for (int64_t g = 0; g < p.n_group; ++g)
      if (!kept[static_cast<size_t>(g)])
        for (int64_t e = g * per; e < (g + 1) * per; ++e) sel[e] = -std::numeric_limits<float>::infinity();
  }
  top_k(sel, E, p.n_used, ids, idx);

  for (int64_t k = 0; k < p.n_used; ++k) weights[k] = probs[ids[k]];
  if (p.norm) {
    double sum = 0;  // ggml_sum_rows accumulates in double
    for (int64_t k = 0; k < p.n_used; ++k) sum += weights[k];
    const float s = std::max(static_cast<float>(sum), 6.103515625e-5f);
    for (int64_t k = 0; k < p.n_used; ++k) weights[k] /= s;
  }
  if (p.scale != 0.0f && p.scale != 1.0f)
    for (int64_t k = 0; k < p.n_used; ++k) weights[k] *= p.scale;
}

}  // namespace r1
