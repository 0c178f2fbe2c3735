#include "model/dense_model.hpp"

#include <cmath>

#include "base/error.hpp"
#include "kernels/types.hpp"
#include "model/attention.hpp"
#include "model/deepseek2_memory.hpp"
#include "model/kv_cache.hpp"
#include "model/ops.hpp"

namespace r1 {

DenseModel::DenseModel(std::unique_ptr<gguf::File> file, ModelConfig cfg, const ModelOptions& opts)
    : file_(std::move(file)), cfg_(std::move(cfg)), pool_(opts.n_threads) {
  w_ = bind_dense_weights(*file_, cfg_);
  // The matrices move into a resident huge-page copy, packed where the kernels want it
  // (weight_store.hpp). The embedding stays in the map (read a row at a time), and so
  // does a tied output matrix. Weights larger than the available memory are refused
  // unless paging was allowed; then everything is computed from the memory map.
  std::vector<WeightView*> mats;
  for (LayerWeights& L : w_.layers)
    for (WeightView* W : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) mats.push_back(W);
  if (w_.output.data != w_.tok_embd.data) mats.push_back(&w_.output);
  std::vector<uint64_t> offsets;
  uint64_t weight_bytes = 0;
  for (const WeightView* W : mats) {
    const gguf::TensorInfo* ti = file_->find_tensor(W->name);
    if (!ti || ti->data != W->data) fail("internal: tensor '{}' is not bound from the file", W->name);
    offsets.push_back(file_->data_offset() + ti->offset);
    weight_bytes += static_cast<uint64_t>(W->rows) * W->row_stride;
  }
  check_weights_fit(file_->name(), weight_bytes, mem_available_bytes(), opts.allow_paging);
  if (!opts.allow_paging) store_.load(file_->name(), mats, offsets, pool_);
  tokenizer_ = Tokenizer::from_gguf(file_->metadata());
  if (tokenizer_->n_vocab() > cfg_.n_vocab)
    fail("{}: the tokenizer has {} tokens but token_embd.weight has only {} rows", file_->name(),
         tokenizer_->n_vocab(), cfg_.n_vocab);
}

std::unique_ptr<KvCache> DenseModel::new_cache(int64_t n_ctx) const {
  if (n_ctx <= 0) n_ctx = cfg_.n_ctx_train;
  return std::make_unique<DenseKvCache>(cfg_.n_layer, n_ctx, cfg_.n_head_kv * cfg_.head_dim);
}

void DenseModel::ensure_scratch(int64_t n) {
  if (n <= s_.capacity) return;
  const auto E = static_cast<size_t>(cfg_.n_embd), n_ = static_cast<size_t>(n);
  const auto qd = static_cast<size_t>(cfg_.n_head * cfg_.head_dim);
  const auto kvd = static_cast<size_t>(cfg_.n_head_kv * cfg_.head_dim);
  const auto ff = static_cast<size_t>(cfg_.n_ff);
  s_.x.resize(n_ * E);
  s_.xn.resize(n_ * E);
  s_.tmp.resize(n_ * E);
  s_.q.resize(n_ * qd);
  s_.att.resize(n_ * qd);
  s_.k.resize(n_ * kvd);
  s_.v.resize(n_ * kvd);
  s_.gate.resize(n_ * ff);
  s_.up.resize(n_ * ff);
  s_.capacity = n;
}

void DenseModel::forward(std::span<const int32_t> tokens, KvCache& kv, std::vector<float>& logits,
                         bool all_logits) {
  const SeqBatch one{tokens, &kv, all_logits};
  forward_batch(std::span<const SeqBatch>(&one, 1), logits);
}

void DenseModel::forward_batch(std::span<const SeqBatch> seqs, std::vector<float>& logits) {
  // Validate everything before touching any cache.
  std::vector<Segment> segs;
  int64_t n = 0, n_out = 0;
  for (const SeqBatch& sb : seqs) {
    auto* kv = static_cast<DenseKvCache*>(sb.kv);
    const int64_t len = static_cast<int64_t>(sb.tokens.size());
    if (!kv) fail("forward: a sequence has no KV cache");
    if (len == 0) fail("forward: no tokens");
    if (kv->n_past() + len > kv->n_ctx())
      fail("context is full: {} tokens in the cache + {} new > context size {}", kv->n_past(), len, kv->n_ctx());
    for (const Segment& s : segs)
      if (s.kv == kv) fail("forward: the same KV cache appears twice in one batch");
    for (int32_t id : sb.tokens)
      if (id < 0 || id >= cfg_.n_vocab) fail("token id {} is out of range [0, {})", id, cfg_.n_vocab);
    segs.push_back({n, len, kv->n_past(), kv});
    n += len;
    n_out += sb.all_logits ? len : 1;
  }
  if (segs.empty()) fail("forward: no sequences");

  ensure_scratch(n);
  const int64_t E = cfg_.n_embd;
  for (size_t i = 0; i < seqs.size(); ++i)
    for (int64_t t = 0; t < segs[i].n; ++t)
      dequantize_row(w_.tok_embd, seqs[i].tokens[static_cast<size_t>(t)], &s_.x[(segs[i].row0 + t) * E]);

  for (int64_t il = 0; il < cfg_.n_layer; ++il) layer_forward(il, n, segs);
  for (const Segment& s : segs) s.kv->advance(s.n);

  // Final norm and output projection for the rows that need logits.
  int64_t out = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const int64_t first = seqs[i].all_logits ? 0 : segs[i].n - 1;
    for (int64_t t = first; t < segs[i].n; ++t, ++out)
      ops::rms_norm(&s_.x[(segs[i].row0 + t) * E], w_.output_norm.data(), E, cfg_.rms_eps, &s_.xn[out * E]);
  }
  logits.resize(static_cast<size_t>(n_out * cfg_.n_vocab));
  matmul(w_.output, s_.xn.data(), E, n_out, logits.data(), cfg_.n_vocab, pool_);
}

void DenseModel::layer_forward(int64_t il, int64_t n, const std::vector<Segment>& segs) {
  const LayerWeights& L = w_.layers[static_cast<size_t>(il)];
  const int64_t E = cfg_.n_embd, HD = cfg_.head_dim;
  const int64_t qd = cfg_.n_head * HD, kvd = cfg_.n_head_kv * HD, ff = cfg_.n_ff;

  // --- attention block ---
  // The block's RMS norm runs fused with the activation conversion (matmul_multi's prologue).
  auto norm_rows = [&](const std::vector<float>& w) {
    return [this, &w, E](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) ops::rms_norm(&s_.x[t * E], w.data(), E, cfg_.rms_eps, &s_.xn[t * E]);
    };
  };
  const MatmulJob qkv[] = {{&L.wq, s_.q.data(), qd}, {&L.wk, s_.k.data(), kvd}, {&L.wv, s_.v.data(), kvd}};
  matmul_multi(qkv, 3, s_.xn.data(), E, n, pool_, norm_rows(L.attn_norm));
  if (!L.bq.empty()) {
    for (int64_t t = 0; t < n; ++t) {
      ops::add_inplace(&s_.q[t * qd], L.bq.data(), qd);
      ops::add_inplace(&s_.k[t * kvd], L.bk.data(), kvd);
      ops::add_inplace(&s_.v[t * kvd], L.bv.data(), kvd);
    }
  }
  const ops::RopeParams rp{cfg_.rope_dim, cfg_.rope_theta, cfg_.rope_freq_scale, cfg_.rope_style,
                           w_.rope_freqs.empty() ? nullptr : w_.rope_freqs.data()};
  for (const Segment& sg : segs) {
   for (int64_t t = sg.row0; t < sg.row0 + sg.n; ++t) {
    const int64_t pos = sg.pos0 + (t - sg.row0);
    DenseKvCache& kv = *sg.kv;
    for (int64_t h = 0; h < cfg_.n_head; ++h) {
      float* qh = &s_.q[t * qd + h * HD];
      if (!L.q_norm.empty()) ops::rms_norm(qh, L.q_norm.data(), HD, cfg_.rms_eps, qh);
      ops::rope(qh, pos, rp);
    }
    for (int64_t h = 0; h < cfg_.n_head_kv; ++h) {
      float* kh = &s_.k[t * kvd + h * HD];
      if (!L.k_norm.empty()) ops::rms_norm(kh, L.k_norm.data(), HD, cfg_.rms_eps, kh);
      ops::rope(kh, pos, rp);
    }
    uint16_t* kc = kv.k_row(il, pos);
    uint16_t* vc = kv.v_row(il, pos);
    for (int64_t i = 0; i < kvd; ++i) {
      kc[i] = fp32_to_fp16(s_.k[t * kvd + i]);
      vc[i] = fp32_to_fp16(s_.v[t * kvd + i]);
    }
   }
  }
  const AttentionShape shape{cfg_.n_head, cfg_.n_head_kv, HD, 1.0f / std::sqrt(static_cast<float>(HD))};
  for (const Segment& sg : segs)
    attention_f16(shape, &s_.q[sg.row0 * qd], sg.n, sg.pos0, sg.kv->k_row(il, 0), sg.kv->v_row(il, 0),
                  &s_.att[sg.row0 * qd], pool_);
  matmul(L.wo, s_.att.data(), qd, n, s_.tmp.data(), E, pool_);
  for (int64_t t = 0; t < n; ++t) {
    if (!L.bo.empty()) ops::add_inplace(&s_.tmp[t * E], L.bo.data(), E);
    ops::add_inplace(&s_.x[t * E], &s_.tmp[t * E], E);
  }

  // --- feed-forward block (SwiGLU) ---
  matmul_swiglu(L.w_gate, L.w_up, s_.xn.data(), E, n, s_.gate.data(), ff, s_.up.data(), ff, pool_,
                norm_rows(L.ffn_norm));
  matmul(L.w_down, s_.gate.data(), ff, n, s_.tmp.data(), E, pool_);
  for (int64_t t = 0; t < n; ++t) ops::add_inplace(&s_.x[t * E], &s_.tmp[t * E], E);
}

}  // namespace r1
