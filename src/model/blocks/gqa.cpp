// GqaAttention (layers.hpp): the attention block of the dense families.
#include <cmath>

#include "base/thread_pool.hpp"
#include "kernels/types.hpp"
#include "model/blocks/attention.hpp"
#include "model/blocks/layers.hpp"
#include "model/blocks/rope.hpp"
#include "model/kv_cache.hpp"
#include "model/ops.hpp"

namespace r1 {

GqaAttention::GqaAttention(const ModelConfig& c, const ModelWeights& w) : c_(c) {
  using K = TensorKind;
  for (int64_t i = 0; i < c.n_layer; ++i)
    layers_.push_back({w.vector(K::attn_norm, i), w.matrix(K::attn_q, i), w.matrix(K::attn_k, i),
                       w.matrix(K::attn_v, i), w.matrix(K::attn_output, i), w.vector(K::attn_q_bias, i),
                       w.vector(K::attn_k_bias, i), w.vector(K::attn_v_bias, i), w.vector(K::attn_output_bias, i),
                       w.vector(K::attn_q_norm, i), w.vector(K::attn_k_norm, i)});
}

void GqaAttention::forward(int64_t il, const Pass& p) {
  const Layer& L = layers_[static_cast<size_t>(il)];
  ThreadPool& pool = *p.pool;
  const int64_t n = p.n, E = c_.n_embd, HD = c_.head_dim, P = c_.rope.n_dims;
  const int64_t qd = c_.n_head * HD, kvd = c_.n_head_kv * HD;
  const auto N = static_cast<size_t>(n);
  q_.resize(N * qd), k_.resize(N * kvd), v_.resize(N * kvd), att_.resize(N * qd);

  // The block's RMS norm runs fused with the activation conversion (matmul_multi's prologue).
  const MatmulJob qkv[] = {{&L.wq, q_.data(), qd}, {&L.wk, k_.data(), kvd}, {&L.wv, v_.data(), kvd}};
  matmul_multi(qkv, 3, p.xn, E, n, pool, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) ops::rms_norm(&p.x[t * E], L.norm, E, c_.rms_eps, &p.xn[t * E]);
  });
  if (L.bq) {
    for (int64_t t = 0; t < n; ++t) {
      ops::add_inplace(&q_[t * qd], L.bq, qd);
      ops::add_inplace(&k_[t * kvd], L.bk, kvd);
      ops::add_inplace(&v_[t * kvd], L.bv, kvd);
    }
  }
  for (const Segment& sg : p.segs) {
    for (int64_t t = sg.row0; t < sg.row0 + sg.n; ++t) {
      const int64_t pos = sg.pos0 + (t - sg.row0);
      const float* cs = p.rope + t * P;
      for (int64_t h = 0; h < c_.n_head; ++h) {
        float* qh = &q_[t * qd + h * HD];
        if (L.q_norm) ops::rms_norm(qh, L.q_norm, HD, c_.rms_eps, qh);
        rope_apply(qh, cs, P, c_.rope.style);
      }
      for (int64_t h = 0; h < c_.n_head_kv; ++h) {
        float* kh = &k_[t * kvd + h * HD];
        if (L.k_norm) ops::rms_norm(kh, L.k_norm, HD, c_.rms_eps, kh);
        rope_apply(kh, cs, P, c_.rope.style);
      }
      uint16_t* kc = sg.kv->k_row(il, pos);
      uint16_t* vc = sg.kv->v_row(il, pos);
      for (int64_t i = 0; i < kvd; ++i) {
        kc[i] = fp32_to_fp16(k_[t * kvd + i]);
        vc[i] = fp32_to_fp16(v_[t * kvd + i]);
      }
    }
  }
  const AttentionShape shape{c_.n_head, c_.n_head_kv, HD, 1.0f / std::sqrt(static_cast<float>(HD))};
  for (const Segment& sg : p.segs)
    attention_f16(shape, &q_[sg.row0 * qd], sg.n, sg.pos0, sg.kv->k_row(il, 0), sg.kv->v_row(il, 0),
                  &att_[sg.row0 * qd], pool);
  matmul(L.wo, att_.data(), qd, n, p.tmp, E, pool);
  for (int64_t t = 0; t < n; ++t) {
    if (L.bo) ops::add_inplace(&p.tmp[t * E], L.bo, E);
    ops::add_inplace(&p.x[t * E], &p.tmp[t * E], E);
  }
}

}  // namespace r1
