#include "model/transformer_model.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "model/blocks/rope.hpp"
#include "model/kv_cache.hpp"
#include "model/memory.hpp"
#include "model/ops.hpp"
#include "model/planner.hpp"

namespace r1 {

TransformerModel::TransformerModel(std::unique_ptr<gguf::File> file, ModelConfig cfg, const ModelOptions& opts,
                                   std::unique_ptr<Tokenizer> tokenizer)
    : file_(std::move(file)), cfg_(std::move(cfg)), pool_(opts.n_threads) {
  weights_ = bind_file_weights(*file_, cfg_);
  tokenizer_ = tokenizer ? std::move(tokenizer) : Tokenizer::from_gguf(file_->metadata());
  if (tokenizer_->n_vocab() > cfg_.n_vocab)
    fail("{}: the tokenizer has {} tokens but {} has only {} rows", file_->name(), tokenizer_->n_vocab(),
         tensor_name(TensorKind::token_embd), cfg_.n_vocab);
  // Weights larger than the available memory are refused unless paging was allowed; then
  // everything is computed from the memory map (planner.hpp).
  check_weights_fit(file_->name(), weights_.bytes(), mem_available_bytes(), opts.allow_paging);
  plan_weights(weights_, cfg_, file_->name(), !opts.allow_paging, pool_, store_);
  finish_load();
}

TransformerModel::TransformerModel(ModelConfig cfg, std::unique_ptr<Tokenizer> tokenizer, ModelWeights weights,
                                   const ModelOptions& opts)
    : cfg_(std::move(cfg)), pool_(opts.n_threads), weights_(std::move(weights)), tokenizer_(std::move(tokenizer)) {
  if (tokenizer_->n_vocab() > cfg_.n_vocab)
    fail("the tokenizer has {} tokens but the model only {} embedding rows", tokenizer_->n_vocab(), cfg_.n_vocab);
  finish_load();
}

void TransformerModel::finish_load() {
  embd_ = weights_.matrix(TensorKind::token_embd);
  output_ = cfg_.tied_output ? embd_ : weights_.matrix(TensorKind::output);
  output_norm_ = weights_.vector(TensorKind::output_norm);
  rope_freqs_ = weights_.vector(TensorKind::rope_freqs);
  kv_layout_ = kv_layout(cfg_);
  recipe_ = make_recipe(cfg_, weights_);
}

std::unique_ptr<KvCache> TransformerModel::new_cache(int64_t n_ctx) const {
  if (n_ctx <= 0) n_ctx = cfg_.n_ctx_train;
  return std::make_unique<LayerKvCache>(kv_layout_, n_ctx);
}

void TransformerModel::forward(std::span<const int32_t> tokens, KvCache& kv, std::vector<float>& logits,
                               bool all_logits) {
  const SeqBatch one{tokens, &kv, all_logits};
  forward_batch(std::span<const SeqBatch>(&one, 1), logits);
}

void TransformerModel::forward_batch(std::span<const SeqBatch> seqs, std::vector<float>& logits) {
  std::lock_guard lock(pass_mu_);
  // Validate everything before touching any cache.
  if (seqs.empty()) fail("forward: no sequences");
  std::vector<LayerKvCache*> caches;
  int64_t n_out = 0;
  for (const SeqBatch& sb : seqs) {
    if (!sb.kv) fail("forward: a sequence has no KV cache");
    auto* kv = dynamic_cast<LayerKvCache*>(sb.kv);
    if (!kv || kv->layout() != kv_layout_)
      fail("forward: the KV cache was not made by this {} model (its row layout differs)", arch_name(cfg_.arch));
    const auto len = static_cast<int64_t>(sb.tokens.size());
    if (len == 0) fail("forward: no tokens");
    if (kv->n_past() + len > kv->n_ctx())
      fail("context is full: {} tokens in the cache + {} new > context size {}", kv->n_past(), len, kv->n_ctx());
    for (const LayerKvCache* c : caches)
      if (c == kv) fail("forward: the same KV cache appears twice in one batch");
    for (int32_t id : sb.tokens)
      if (id < 0 || id >= cfg_.n_vocab) fail("token id {} is out of range [0, {})", id, cfg_.n_vocab);
    caches.push_back(kv);
    n_out += sb.all_logits ? len : 1;
  }
  logits.resize(static_cast<size_t>(n_out * cfg_.n_vocab));

  // Passes of at most kMaxPassRows rows, sequences in order.
  std::vector<Segment> segs;
  std::vector<int32_t> ids;
  std::vector<uint8_t> wants;
  int64_t out_rows = 0;
  auto flush = [&] {
    if (ids.empty()) return;
    run_pass(static_cast<int64_t>(ids.size()), segs, ids, wants, logits.data(), &out_rows);
    for (const Segment& s : segs) s.kv->advance(s.n);
    segs.clear(), ids.clear(), wants.clear();
  };
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto len = static_cast<int64_t>(seqs[i].tokens.size());
    for (int64_t t0 = 0; t0 < len;) {
      if (static_cast<int64_t>(ids.size()) == kMaxPassRows) flush();
      const int64_t take = std::min(len - t0, kMaxPassRows - static_cast<int64_t>(ids.size()));
      segs.push_back({static_cast<int64_t>(ids.size()), take, caches[i]->n_past(), caches[i]});
      for (int64_t t = t0; t < t0 + take; ++t) {
        ids.push_back(seqs[i].tokens[static_cast<size_t>(t)]);
        wants.push_back(seqs[i].all_logits || t == len - 1);
      }
      t0 += take;
    }
  }
  flush();
}

void TransformerModel::run_pass(int64_t n, std::span<const Segment> segs, const std::vector<int32_t>& ids,
                                const std::vector<uint8_t>& wants_logits, float* logits_out, int64_t* n_out) {
  const int64_t E = cfg_.n_embd, P = cfg_.rope.n_dims, V = cfg_.n_vocab;
  const auto N = static_cast<size_t>(n);
  x_.resize(N * E), xn_.resize(N * E), tmp_.resize(N * E);
  rope_.resize(N * static_cast<size_t>(P));
  for (int64_t t = 0; t < n; ++t) dequantize_row(embd_, ids[static_cast<size_t>(t)], &x_[t * E]);
  for (const Segment& s : segs)
    for (int64_t t = 0; t < s.n; ++t) rope_table(cfg_.rope, rope_freqs_, s.pos0 + t, &rope_[(s.row0 + t) * P]);

  const Pass pass{n, x_.data(), xn_.data(), tmp_.data(), segs, rope_.data(), &pool_};
  for (int64_t il = 0; il < cfg_.n_layer; ++il) recipe_->layer(il, pass);

  // Final norm and output projection for the rows that need logits.
  int64_t m = 0;
  for (int64_t t = 0; t < n; ++t)
    if (wants_logits[static_cast<size_t>(t)]) ops::rms_norm(&x_[t * E], output_norm_, E, cfg_.rms_eps, &xn_[m++ * E]);
  if (m > 0) matmul(output_, xn_.data(), E, m, logits_out + *n_out * V, V, pool_);
  *n_out += m;
}

}  // namespace r1
