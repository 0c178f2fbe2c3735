// MoeFfn (layers.hpp): DeepSeekMoE. Only the experts a token selected are computed; the
// tokens that chose the same expert are gathered into one product with its weights.
// Summation follows llama.cpp: routed outputs are weighted and added in slot order (best
// expert first), then the shared experts, then the residual.
#include <algorithm>

#include "base/thread_pool.hpp"
#include "model/blocks/layers.hpp"
#include "model/ops.hpp"

namespace r1 {

MoeFfn::MoeFfn(const ModelConfig& c, const ModelWeights& w) : c_(c), router_(RouterParams::from(c)) {
  using K = TensorKind;
  const int64_t F = c.moe.n_ff_exp;
  layers_.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    if (!c.is_moe_layer(i)) continue;
    Layer& L = layers_[static_cast<size_t>(i)];
    L.norm = w.vector(K::ffn_norm, i);
    L.router = w.matrix(K::ffn_gate_inp, i);
    L.probs_bias = w.vector(K::exp_probs_b, i);
    if (w.find(K::ffn_gate_up_exps, i)) {  // fused: per expert F gate rows, then F up rows
      L.gate = w.stacked(K::ffn_gate_up_exps, i, 2 * F, F, 0);
      L.up = w.stacked(K::ffn_gate_up_exps, i, 2 * F, F, F);
    } else {
      L.gate = w.stacked(K::ffn_gate_exps, i, F, F);
      L.up = w.stacked(K::ffn_up_exps, i, F, F);
    }
    L.down = w.stacked(K::ffn_down_exps, i, c.n_embd, c.n_embd);
    if (c.moe.n_expert_shared > 0) {
      L.gate_sh = w.matrix(K::ffn_gate_shexp, i);
      L.up_sh = w.matrix(K::ffn_up_shexp, i);
      L.down_sh = w.matrix(K::ffn_down_shexp, i);
    }
  }
}

void MoeFfn::forward(int64_t il, const Pass& p) {
  const Layer& L = layers_[static_cast<size_t>(il)];
  ThreadPool& pool = *p.pool;
  const int64_t n = p.n, E = c_.n_embd, X = c_.moe.n_expert, U = c_.moe.n_expert_used, F = c_.moe.n_ff_exp;
  const int64_t FS = F * c_.moe.n_expert_shared;
  const auto N = static_cast<size_t>(n), NU = static_cast<size_t>(n * U);
  logits_.resize(N * X), ids_.resize(NU), wts_.resize(NU), slot_row_.resize(NU);
  xg_.resize(NU * E), yd_.resize(NU * E), gate_.resize(NU * F), up_.resize(NU * F);
  sgate_.resize(N * FS), sup_.resize(N * FS), sout_.resize(N * E);

  // 1. Route every token (the block's RMS norm fused into the router product's input).
  const MatJob r{L.router, p.xn, E, n, logits_.data(), X};
  matmul_ops(std::span<const MatJob>(&r, 1), pool, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) ops::rms_norm(&p.x[t * E], L.norm, E, c_.rms_eps, &p.xn[t * E]);
  });
  for (int64_t t = 0; t < n; ++t)
    route_token(router_, &logits_[t * X], L.probs_bias, &ids_[t * U], &wts_[t * U], route_tmp_);

  // 2. Sort (token, slot) pairs by expert; gather each expert's input rows contiguously.
  std::vector<int64_t> count(static_cast<size_t>(X) + 1, 0);
  for (size_t i = 0; i < NU; ++i) ++count[static_cast<size_t>(ids_[i]) + 1];
  std::vector<int64_t> first(count.size(), 0);  // first[e] = first row of expert e
  for (int64_t e = 0; e < X; ++e) first[e + 1] = first[e] + count[e + 1];
  std::vector<int64_t> fill(first.begin(), first.end() - 1);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t k = 0; k < U; ++k) {
      const int64_t row = fill[static_cast<size_t>(ids_[t * U + k])]++;
      slot_row_[t * U + k] = row;
      std::copy_n(&p.xn[t * E], E, &xg_[row * E]);
    }

  // 3. gate/up of the selected experts; the shared experts fused with their SwiGLU.
  jobs_.clear();
  for (int64_t e = 0; e < X; ++e) {
    const int64_t cnt = count[e + 1];
    if (cnt == 0) continue;
    const float* xin = &xg_[first[e] * E];
    jobs_.push_back({L.gate.at(e), xin, E, cnt, &gate_[first[e] * F], F, MatOrder::mul_mat_id});
    jobs_.push_back({L.up.at(e), xin, E, cnt, &up_[first[e] * F], F, MatOrder::mul_mat_id});
  }
  matmul_ops(jobs_, pool);
  for (size_t i = 0; i < NU; ++i) ops::swiglu(&gate_[i * F], &up_[i * F], F, &gate_[i * F]);
  if (FS > 0) matmul_swiglu(L.gate_sh, L.up_sh, p.xn, E, n, sgate_.data(), FS, sup_.data(), FS, pool);

  // 4. down projections.
  jobs_.clear();
  for (int64_t e = 0; e < X; ++e) {
    const int64_t cnt = count[e + 1];
    if (cnt == 0) continue;
    jobs_.push_back({L.down.at(e), &gate_[first[e] * F], F, cnt, &yd_[first[e] * E], E, MatOrder::mul_mat_id});
  }
  if (FS > 0) jobs_.push_back({L.down_sh, sgate_.data(), FS, n, sout_.data(), E});
  matmul_ops(jobs_, pool);

  // 5. x += (sum_k w_k * y_k) + shared.
  for (int64_t t = 0; t < n; ++t) {
    float* acc = &p.tmp[t * E];
    const float* y0 = &yd_[slot_row_[t * U] * E];
    const float w0 = wts_[t * U];
    for (int64_t i = 0; i < E; ++i) acc[i] = y0[i] * w0;
    for (int64_t k = 1; k < U; ++k) {
      const float* y = &yd_[slot_row_[t * U + k] * E];
      const float w = wts_[t * U + k];
      for (int64_t i = 0; i < E; ++i) acc[i] += y[i] * w;
    }
    if (FS > 0) ops::add_inplace(acc, &sout_[t * E], E);
    ops::add_inplace(&p.x[t * E], acc, E);
  }
}

}  // namespace r1
