// SwiGluFfn (layers.hpp): the feed-forward block of the dense families and of deepseek2's
// leading dense layers. gate/up products, SwiGLU and the block's RMS norm run fused
// (matmul_swiglu with the norm as row prologue: bit-identical to the unfused sequence).
#include "base/thread_pool.hpp"
#include "model/blocks/layers.hpp"
#include "model/ops.hpp"

namespace r1 {

SwiGluFfn::SwiGluFfn(const ModelConfig& c, const ModelWeights& w) : c_(c) {
  using K = TensorKind;
  layers_.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    if (c.is_moe_layer(i)) continue;
    layers_[static_cast<size_t>(i)] = {w.vector(K::ffn_norm, i), w.matrix(K::ffn_gate, i), w.matrix(K::ffn_up, i),
                                       w.matrix(K::ffn_down, i)};
  }
}

void SwiGluFfn::forward(int64_t il, const Pass& p) {
  const Layer& L = layers_[static_cast<size_t>(il)];
  ThreadPool& pool = *p.pool;
  const int64_t n = p.n, E = c_.n_embd, F = L.gate.rows;
  const auto N = static_cast<size_t>(n);
  gate_.resize(N * F), up_.resize(N * F);
  matmul_swiglu(L.gate, L.up, p.xn, E, n, gate_.data(), F, up_.data(), F, pool, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) ops::rms_norm(&p.x[t * E], L.norm, E, c_.rms_eps, &p.xn[t * E]);
  });
  matmul(L.down, gate_.data(), F, n, p.tmp, E, pool);
  for (int64_t t = 0; t < n; ++t) ops::add_inplace(&p.x[t * E], &p.tmp[t * E], E);
}

}  // namespace r1
