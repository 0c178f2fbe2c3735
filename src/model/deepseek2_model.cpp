#include "model/deepseek2_model.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "kernels/types.hpp"
#include "model/deepseek2_memory.hpp"
#include "model/attention.hpp"
#include "model/deepseek2_yarn.hpp"
#include "model/ops.hpp"

namespace r1 {

DeepSeek2Model::DeepSeek2Model(std::unique_ptr<gguf::File> file, DeepSeek2Config cfg, const ModelOptions& opts)
    : file_(std::move(file)), cfg_(std::move(cfg)), pool_(opts.n_threads) {
  w_ = bind_deepseek2_weights(*file_, cfg_);
  mcfg_ = cfg_.to_model_config();
  router_ = RouterParams::from(cfg_);
  tokenizer_ = Tokenizer::from_gguf(file_->metadata());
  if (tokenizer_->n_vocab() > cfg_.n_vocab)
    fail("{}: the tokenizer has {} tokens but token_embd.weight has only {} rows", file_->name(),
         tokenizer_->n_vocab(), cfg_.n_vocab);
  check_weights_fit(file_->name(), w_.bytes, mem_available_bytes(), opts.allow_paging);
  if (!opts.allow_paging) pack_deepseek2_weights(w_, cfg_, pool_);
}

std::unique_ptr<KvCache> DeepSeek2Model::new_cache(int64_t n_ctx) const {
  if (n_ctx <= 0) n_ctx = cfg_.n_ctx_train;
  return std::make_unique<MlaKvCache>(cfg_.n_layer, n_ctx, cfg_.kv_row());
}

void DeepSeek2Model::ensure_scratch(int64_t n) {
  if (n <= s_.capacity) return;
  const DeepSeek2Config& c = cfg_;
  const auto N = static_cast<size_t>(n);
  auto sz = [N](int64_t width) { return N * static_cast<size_t>(width); };
  const int64_t U = std::max<int64_t>(c.n_expert_used, 1);
  s_.x.resize(sz(c.n_embd));
  s_.xn.resize(sz(c.n_embd));
  s_.tmp.resize(sz(c.n_embd));
  s_.qa.resize(sz(c.q_lora_rank));
  s_.q.resize(sz(c.n_head * c.head_k()));
  s_.kva.resize(sz(c.kv_row()));
  s_.rope.resize(sz(c.qk_rope));
  s_.qcat.resize(sz(c.n_head * c.kv_row()));
  s_.lat.resize(sz(c.n_head * c.kv_lora_rank));
  if (n >= kTiledRows) s_.latk.resize(sz(c.n_head * c.kv_row()));
  s_.att.resize(sz(c.n_head * c.v_head));
  s_.gate.resize(std::max(sz(c.n_ff), sz(U * c.n_ff_exp)));
  s_.up.resize(s_.gate.size());
  s_.sgate.resize(sz(c.n_ff_exp * c.n_expert_shared));
  s_.sup.resize(s_.sgate.size());
  s_.sout.resize(sz(c.n_embd));
  s_.router.resize(sz(c.n_expert));
  s_.ids.resize(sz(U));
  s_.wts.resize(sz(U));
  s_.slot_row.resize(sz(U));
  s_.xg.resize(sz(U * c.n_embd));
  s_.yd.resize(sz(U * c.n_embd));
  s_.capacity = n;
}

void DeepSeek2Model::forward(std::span<const int32_t> tokens, KvCache& kv_base, std::vector<float>& logits,
                             bool all_logits) {
  auto* kv = dynamic_cast<MlaKvCache*>(&kv_base);
  if (!kv) fail("forward: the KV cache was not made by this deepseek2 model");
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) fail("forward: no tokens");
  if (kv->n_past() + n > kv->n_ctx())
    fail("context is full: {} tokens in the cache + {} new > context size {}", kv->n_past(), n, kv->n_ctx());
  for (int32_t id : tokens)
    if (id < 0 || id >= cfg_.n_vocab) fail("token id {} is out of range [0, {})", id, cfg_.n_vocab);

  const int64_t E = cfg_.n_embd, V = cfg_.n_vocab;
  logits.resize(static_cast<size_t>((all_logits ? n : 1) * V));
  int64_t out_row = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kMaxChunk) {
    const int64_t len = std::min(kMaxChunk, n - c0);
    forward_chunk(tokens.data() + c0, len, *kv);
    // final norm and output projection for the rows that need logits
    const int64_t first = all_logits ? 0 : (c0 + len == n ? len - 1 : len);
    if (first >= len) continue;
    for (int64_t t = first; t < len; ++t)
      ops::rms_norm(&s_.x[t * E], w_.output_norm.data(), E, cfg_.rms_eps, &s_.xn[(t - first) * E]);
    const MatJob job{w_.output, s_.xn.data(), E, len - first, logits.data() + out_row * V, V};
    grouped_matmul(std::span<const MatJob>(&job, 1), pool_);
    out_row += len - first;
  }
}

void DeepSeek2Model::forward_chunk(const int32_t* tokens, int64_t n, MlaKvCache& kv) {
  ensure_scratch(n);
  const int64_t E = cfg_.n_embd, pos0 = kv.n_past();
  for (int64_t t = 0; t < n; ++t) dequantize_row(w_.tok_embd, tokens[t], &s_.x[t * E]);
  for (int64_t t = 0; t < n; ++t) yarn_rope_table(cfg_.rope, pos0 + t, &s_.rope[t * cfg_.qk_rope]);
  for (int64_t il = 0; il < cfg_.n_layer; ++il) {
    attention_block(il, n, pos0, kv);
    ffn_block(il, n);
  }
  kv.advance(n);
}

void DeepSeek2Model::attention_block(int64_t il, int64_t n, int64_t pos0, MlaKvCache& kv) {
  const Ds2LayerWeights& L = w_.layers[static_cast<size_t>(il)];
  const DeepSeek2Config& c = cfg_;
  const int64_t E = c.n_embd, H = c.n_head, HK = c.head_k(), R = c.kv_lora_rank, P = c.qk_rope;
  const int64_t KR = c.kv_row(), QL = c.q_lora_rank, VH = c.v_head;

  for (int64_t t = 0; t < n; ++t) ops::rms_norm(&s_.x[t * E], L.attn_norm.data(), E, c.rms_eps, &s_.xn[t * E]);

  // q (through the q LoRA when present) and the compressed kv + rope key.
  if (QL > 0) {
    const MatJob a[] = {{L.wq_a, s_.xn.data(), E, n, s_.qa.data(), QL}, {L.wkv_a, s_.xn.data(), E, n, s_.kva.data(), KR}};
    grouped_matmul(a, pool_);
    for (int64_t t = 0; t < n; ++t) ops::rms_norm(&s_.qa[t * QL], L.q_a_norm.data(), QL, c.rms_eps, &s_.qa[t * QL]);
    const MatJob b{L.wq_b, s_.qa.data(), QL, n, s_.q.data(), H * HK};
    grouped_matmul(std::span<const MatJob>(&b, 1), pool_);
  } else {
    const MatJob a[] = {{L.wq, s_.xn.data(), E, n, s_.q.data(), H * HK}, {L.wkv_a, s_.xn.data(), E, n, s_.kva.data(), KR}};
    grouped_matmul(a, pool_);
  }

  // RoPE on q_pe (into the tail of each head's absorbed query) and on the shared key
  // part; the normalised latent and the rope key go to the cache as F16.
  for (int64_t t = 0; t < n; ++t) {
    const float* cs = &s_.rope[t * P];
    for (int64_t h = 0; h < H; ++h) {
      float* dst = &s_.qcat[(t * H + h) * KR + R];
      std::copy_n(&s_.q[(t * H + h) * HK + c.qk_nope], P, dst);
      rope_pairs(dst, cs, P);
    }
    float* kva = &s_.kva[t * KR];
    ops::rms_norm(kva, L.kv_a_norm.data(), R, c.rms_eps, kva);
    rope_pairs(kva + R, cs, P);
    uint16_t* row = kv.row(il, pos0 + t);
    for (int64_t i = 0; i < KR; ++i) row[i] = fp32_to_fp16(kva[i]);
  }

  // Absorb attn_k_b into the query: qcat[t,h,0:R] = k_b[h] q_nope[t,h].
  std::vector<MatJob> jobs(static_cast<size_t>(H));
  for (int64_t h = 0; h < H; ++h)
    jobs[static_cast<size_t>(h)] = {L.wk_b.at(h), &s_.q[h * HK], H * HK, n, &s_.qcat[h * KR], H * KR,
                                    MatOrder::mul_mat_3d};
  grouped_matmul(jobs, pool_);

  // Attention over the latent cache. Batches of >= 64 rows take llama.cpp's tiled
  // flash-attention order (the shared attention_f16, run as one KV head of
  // kv_lora_rank + qk_rope dims whose value is the same row: the first kv_lora_rank
  // outputs are exactly the latent attention, the rest is ignored); smaller batches
  // (decode) the MLA kernel that converts the shared keys once for all heads.
  const float* lat = s_.lat.data();
  int64_t lat_stride = R;
  if (n >= kTiledRows) {
    const AttentionShape shape{H, 1, KR, c.kq_scale};
    attention_f16(shape, s_.qcat.data(), n, pos0, kv.row(il, 0), kv.row(il, 0), s_.latk.data(), pool_);
    lat = s_.latk.data();
    lat_stride = KR;
  } else {
    const MlaShape shape{H, R, P, c.kq_scale};
    mla_attention(shape, s_.qcat.data(), n, pos0, kv.row(il, 0), s_.lat.data(), pool_, as_);
  }

  // Decompress the attended latent per head with attn_v_b, then the output projection.
  for (int64_t h = 0; h < H; ++h)
    jobs[static_cast<size_t>(h)] = {L.wv_b.at(h), lat + h * lat_stride, H * lat_stride, n, &s_.att[h * VH], H * VH,
                                    MatOrder::mul_mat_3d};
  grouped_matmul(jobs, pool_);
  const MatJob o{L.wo, s_.att.data(), H * VH, n, s_.tmp.data(), E};
  grouped_matmul(std::span<const MatJob>(&o, 1), pool_);
  for (int64_t t = 0; t < n; ++t) ops::add_inplace(&s_.x[t * E], &s_.tmp[t * E], E);
}

}  // namespace r1
