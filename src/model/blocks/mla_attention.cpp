// MlaAttention (layers.hpp): deepseek2's attention block over the latent-only cache.
#include <algorithm>

#include "base/thread_pool.hpp"
#include "kernels/types.hpp"
#include "model/blocks/attention.hpp"
#include "model/blocks/layers.hpp"
#include "model/blocks/rope.hpp"
#include "model/kv_cache.hpp"
#include "model/ops.hpp"

namespace r1 {

MlaAttention::MlaAttention(const ModelConfig& c, const ModelWeights& w) : c_(c) {
  using K = TensorKind;
  const int64_t R = c.mla.kv_lora_rank;
  for (int64_t i = 0; i < c.n_layer; ++i) {
    Layer L{};
    L.norm = w.vector(K::attn_norm, i);
    if (c.mla.q_lora_rank > 0) {
      L.wq_a = w.matrix(K::attn_q_a, i);
      L.q_a_norm = w.vector(K::attn_q_a_norm, i);
      L.wq_b = w.matrix(K::attn_q_b, i);
    } else {
      L.wq = w.matrix(K::attn_q, i);
    }
    L.wkv_a = w.matrix(K::attn_kv_a_mqa, i);
    L.kv_a_norm = w.vector(K::attn_kv_a_norm, i);
    L.wk_b = w.stacked(K::attn_k_b, i, R, R);
    L.wv_b = w.stacked(K::attn_v_b, i, c.mla.v_head, c.mla.v_head);
    L.wo = w.matrix(K::attn_output, i);
    layers_.push_back(L);
  }
}

void MlaAttention::forward(int64_t il, const Pass& p) {
  const Layer& L = layers_[static_cast<size_t>(il)];
  ThreadPool& pool = *p.pool;
  const int64_t n = p.n, E = c_.n_embd, H = c_.n_head, HK = c_.head_dim, R = c_.mla.kv_lora_rank;
  const int64_t P = c_.qk_rope(), KR = R + P, QL = c_.mla.q_lora_rank, VH = c_.mla.v_head, NOPE = c_.mla.qk_nope;
  const auto N = static_cast<size_t>(n);
  qa_.resize(N * QL), q_.resize(N * H * HK), kva_.resize(N * KR), qcat_.resize(N * H * KR);
  lat_.resize(N * H * R), att_.resize(N * H * VH);
  int64_t longest = 0;
  for (const Segment& sg : p.segs) longest = std::max(longest, sg.n);
  if (longest >= kTiledRows) latk_.resize(N * H * KR);

  // q (through the q LoRA when present) and the compressed kv + rope key; the block's RMS
  // norm is fused into the activation conversion.
  auto norm_rows = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) ops::rms_norm(&p.x[t * E], L.norm, E, c_.rms_eps, &p.xn[t * E]);
  };
  if (QL > 0) {
    const MatJob a[] = {{L.wq_a, p.xn, E, n, qa_.data(), QL}, {L.wkv_a, p.xn, E, n, kva_.data(), KR}};
    matmul_ops(a, pool, norm_rows);
    for (int64_t t = 0; t < n; ++t) ops::rms_norm(&qa_[t * QL], L.q_a_norm, QL, c_.rms_eps, &qa_[t * QL]);
    const MatJob b{L.wq_b, qa_.data(), QL, n, q_.data(), H * HK};
    matmul_ops(std::span<const MatJob>(&b, 1), pool);
  } else {
    const MatJob a[] = {{L.wq, p.xn, E, n, q_.data(), H * HK}, {L.wkv_a, p.xn, E, n, kva_.data(), KR}};
    matmul_ops(a, pool, norm_rows);
  }

  // RoPE on q_pe (into the tail of each head's absorbed query) and on the shared key
  // part; the normalised latent and the rope key go to the cache as F16.
  for (const Segment& sg : p.segs)
    for (int64_t t = sg.row0; t < sg.row0 + sg.n; ++t) {
      const float* cs = p.rope + t * P;
      for (int64_t h = 0; h < H; ++h) {
        float* dst = &qcat_[(t * H + h) * KR + R];
        std::copy_n(&q_[(t * H + h) * HK + NOPE], P, dst);
        rope_apply(dst, cs, P, RopeStyle::normal);
      }
      float* kva = &kva_[t * KR];
      ops::rms_norm(kva, L.kv_a_norm, R, c_.rms_eps, kva);
      rope_apply(kva + R, cs, P, RopeStyle::normal);
      uint16_t* row = sg.kv->k_row(il, sg.pos0 + (t - sg.row0));
      for (int64_t i = 0; i < KR; ++i) row[i] = fp32_to_fp16(kva[i]);
    }

  // Absorb attn_k_b into the query: qcat[t,h,0:R] = k_b[h] q_nope[t,h].
  jobs_.resize(static_cast<size_t>(H));
  for (int64_t h = 0; h < H; ++h)
    jobs_[static_cast<size_t>(h)] = {L.wk_b.at(h), &q_[h * HK], H * HK, n, &qcat_[h * KR], H * KR, MatOrder::mul_mat_3d};
  matmul_ops(jobs_, pool);

  // Attention over the latent cache, per sequence. Segments of >= 64 rows take llama.cpp's
  // tiled flash-attention order (the shared attention_f16, run as one KV head of
  // kv_lora_rank + qk_rope dims whose value is the same row: the first kv_lora_rank outputs
  // are exactly the latent attention, the rest is ignored); shorter ones (decode) the MLA
  // kernel that converts the shared keys once for all heads. Output: rows of H latents,
  // `stride` floats per head.
  const bool any_tiled = longest >= kTiledRows;
  const int64_t stride = any_tiled ? KR : R;
  for (const Segment& sg : p.segs) {
    const uint16_t* rows = sg.kv->k_row(il, 0);
    const float* q = &qcat_[sg.row0 * H * KR];
    if (sg.n >= kTiledRows) {
      const AttentionShape shape{H, 1, KR, c_.mla.kq_scale};
      attention_f16(shape, q, sg.n, sg.pos0, rows, rows, &latk_[sg.row0 * H * KR], pool);
      continue;
    }
    const MlaShape shape{H, R, P, c_.mla.kq_scale};
    float* o = &lat_[sg.row0 * H * R];
    mla_attention(shape, q, sg.n, sg.pos0, rows, o, pool, mla_);
    if (any_tiled)  // into the tiled rows' layout, so that one product reads both
      for (int64_t t = 0; t < sg.n * H; ++t) std::copy_n(&o[t * R], R, &latk_[sg.row0 * H * KR + t * KR]);
  }
  const float* lat = any_tiled ? latk_.data() : lat_.data();

  // Decompress the attended latent per head with attn_v_b, then the output projection.
  for (int64_t h = 0; h < H; ++h)
    jobs_[static_cast<size_t>(h)] = {L.wv_b.at(h), lat + h * stride, H * stride, n, &att_[h * VH], H * VH,
                                     MatOrder::mul_mat_3d};
  matmul_ops(jobs_, pool);
  const MatJob o{L.wo, att_.data(), H * VH, n, p.tmp, E};
  matmul_ops(std::span<const MatJob>(&o, 1), pool);
  for (int64_t t = 0; t < n; ++t) ops::add_inplace(&p.x[t * E], &p.tmp[t * E], E);
}

}  // namespace r1
