// Feed-forward blocks of the deepseek2 forward pass: SwiGLU for the leading dense
// blocks, DeepSeekMoE (router, routed experts batched per expert, shared experts)
// for the others. Summation follows llama.cpp: routed outputs are weighted and added
// in slot order (best expert first), then the shared experts, then the residual.
#include <algorithm>

#include "model/deepseek2_model.hpp"
#include "model/ops.hpp"

namespace r1 {

void DeepSeek2Model::ffn_block(int64_t il, int64_t n) {
  const Ds2LayerWeights& L = w_.layers[static_cast<size_t>(il)];
  const int64_t E = cfg_.n_embd;
  for (int64_t t = 0; t < n; ++t) ops::rms_norm(&s_.x[t * E], L.ffn_norm.data(), E, cfg_.rms_eps, &s_.xn[t * E]);
  if (cfg_.is_moe_layer(il)) {
    moe(L, n);
    return;
  }
  const int64_t F = cfg_.n_ff;
  const MatJob gu[] = {{L.ffn_gate, s_.xn.data(), E, n, s_.gate.data(), F},
                       {L.ffn_up, s_.xn.data(), E, n, s_.up.data(), F}};
  grouped_matmul(gu, pool_);
  for (int64_t t = 0; t < n; ++t) ops::swiglu(&s_.gate[t * F], &s_.up[t * F], F, &s_.gate[t * F]);
  const MatJob d{L.ffn_down, s_.gate.data(), F, n, s_.tmp.data(), E};
  grouped_matmul(std::span<const MatJob>(&d, 1), pool_);
  for (int64_t t = 0; t < n; ++t) ops::add_inplace(&s_.x[t * E], &s_.tmp[t * E], E);
}

void DeepSeek2Model::moe(const Ds2LayerWeights& L, int64_t n) {
  const DeepSeek2Config& c = cfg_;
  const int64_t E = c.n_embd, X = c.n_expert, U = c.n_expert_used, F = c.n_ff_exp;
  const int64_t FS = F * c.n_expert_shared;

  // 1. Route every token.
  const MatJob r{L.gate_inp, s_.xn.data(), E, n, s_.router.data(), X};
  grouped_matmul(std::span<const MatJob>(&r, 1), pool_);
  const float* bias = L.exp_probs_b.empty() ? nullptr : L.exp_probs_b.data();
  for (int64_t t = 0; t < n; ++t)
    route_token(router_, &s_.router[t * X], bias, &s_.ids[t * U], &s_.wts[t * U], s_.route_tmp);

  // 2. Sort (token, slot) pairs by expert; gather each expert's input rows contiguously.
  std::vector<int64_t> count(static_cast<size_t>(X) + 1, 0);
  for (int64_t i = 0; i < n * U; ++i) ++count[static_cast<size_t>(s_.ids[i]) + 1];
  std::vector<int64_t> first(count.size(), 0);  // first[e] = first row of expert e
  for (int64_t e = 0; e < X; ++e) first[e + 1] = first[e] + count[e + 1];
  std::vector<int64_t> fill(first.begin(), first.end() - 1);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t k = 0; k < U; ++k) {
      const int64_t row = fill[static_cast<size_t>(s_.ids[t * U + k])]++;
      s_.slot_row[t * U + k] = row;
      std::copy_n(&s_.xn[t * E], E, &s_.xg[row * E]);
    }

  // 3. gate/up of the selected experts and the shared experts, in one pass.
  std::vector<MatJob> jobs;
  jobs.reserve(static_cast<size_t>(2 * std::min(X, n * U) + 2));
  for (int64_t e = 0; e < X; ++e) {
    const int64_t cnt = count[e + 1];
    if (cnt == 0) continue;
    const float* xin = &s_.xg[first[e] * E];
    jobs.push_back({L.gate_exps.at(e), xin, E, cnt, &s_.gate[first[e] * F], F, MatOrder::mul_mat_id});
    jobs.push_back({L.up_exps.at(e), xin, E, cnt, &s_.up[first[e] * F], F, MatOrder::mul_mat_id});
  }
  if (FS > 0) {
    jobs.push_back({L.gate_shexp, s_.xn.data(), E, n, s_.sgate.data(), FS});
    jobs.push_back({L.up_shexp, s_.xn.data(), E, n, s_.sup.data(), FS});
  }
  grouped_matmul(jobs, pool_);
  for (int64_t i = 0; i < n * U; ++i) ops::swiglu(&s_.gate[i * F], &s_.up[i * F], F, &s_.gate[i * F]);
  for (int64_t t = 0; FS > 0 && t < n; ++t) ops::swiglu(&s_.sgate[t * FS], &s_.sup[t * FS], FS, &s_.sgate[t * FS]);

  // 4. down projections.
  jobs.clear();
  for (int64_t e = 0; e < X; ++e) {
    const int64_t cnt = count[e + 1];
    if (cnt == 0) continue;
    jobs.push_back({L.down_exps.at(e), &s_.gate[first[e] * F], F, cnt, &s_.yd[first[e] * E], E, MatOrder::mul_mat_id});
  }
  if (FS > 0) jobs.push_back({L.down_shexp, s_.sgate.data(), FS, n, s_.sout.data(), E});
  grouped_matmul(jobs, pool_);

  // 5. x += (sum_k w_k * y_k) + shared.
  for (int64_t t = 0; t < n; ++t) {
    float* acc = &s_.tmp[t * E];
    const float* y0 = &s_.yd[s_.slot_row[t * U] * E];
    const float w0 = s_.wts[t * U];
    for (int64_t i = 0; i < E; ++i) acc[i] = y0[i] * w0;
    for (int64_t k = 1; k < U; ++k) {
      const float* y = &s_.yd[s_.slot_row[t * U + k] * E];
      const float w = s_.wts[t * U + k];
      for (int64_t i = 0; i < E; ++i) acc[i] += y[i] * w;
    }
    if (FS > 0) ops::add_inplace(acc, &s_.sout[t * E], E);
    ops::add_inplace(&s_.x[t * E], acc, E);
  }
}

}  // namespace r1
