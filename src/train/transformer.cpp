#include "train/transformer.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "base/thread_pool.hpp"

namespace r1::train {

void Batch::add_sequence(std::span<const int32_t> ids, std::span<const uint8_t> predict) {
  if (ids.size() < 2) return;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    tokens.push_back(ids[i]);
    const bool p = predict.empty() || predict[i + 1];
    targets.push_back(p ? ids[i + 1] : -1);
  }
  seq_start.push_back(static_cast<int64_t>(tokens.size()));
}

template <class T>
TransformerT<T>::TransformerT(const ModelConfig& cfg, ThreadPool& pool)
    : cfg_(cfg),
      layout_(cfg),
      pool_(pool),
      rope_(cfg.rope.n_dims, cfg.n_ctx_train, cfg.rope.freq_base, cfg.rope.style),
      params_(layout_.size(), T(0)),
      grads_(layout_.size(), T(0)),
      acts_(static_cast<size_t>(cfg.n_layer)) {}

template <class T>
void TransformerT<T>::zero_grad() {
  pool_.parallel_for(static_cast<int64_t>(grads_.size()), [&](int64_t b, int64_t e, int) {
    std::fill(grads_.begin() + b, grads_.begin() + e, T(0));
  });
}

template <class T>
size_t TransformerT<T>::activation_bytes() const {
  size_t n = x_out_.size() + xnf_.size() + rstdf_.size() + probs_.size() + logp_.size();
  for (const LayerActs& a : acts_)
    for (const auto* v : {&a.x_in, &a.xn1, &a.rstd1, &a.q, &a.k, &a.v, &a.q_pre, &a.k_pre, &a.rstd_q, &a.rstd_k,
                          &a.probs, &a.att, &a.x_mid, &a.xn2, &a.rstd2, &a.gate, &a.up, &a.h})
      n += v->size();
  return n * sizeof(T);
}

template <class T>
const std::vector<T>& TransformerT<T>::forward(const Batch& b) {
  const int64_t n = b.n(), E = cfg_.n_embd, V = cfg_.n_vocab, HD = cfg_.head_dim;
  const int64_t qd = cfg_.n_head * HD, kvd = cfg_.n_head_kv * HD, F = cfg_.n_ff;
  if (n == 0) fail("train: empty batch");
  if (b.targets.size() != b.tokens.size() || b.seq_start.front() != 0 || b.seq_start.back() != n)
    fail("train: malformed batch");
  for (int32_t id : b.tokens)
    if (id < 0 || id >= V) fail("train: token id {} out of range [0, {})", id, V);
  for (int32_t id : b.targets)
    if (id >= V) fail("train: target id {} out of range [0, {})", id, V);
  pos_.resize(static_cast<size_t>(n));
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    const int64_t len = b.seq_start[s + 1] - b.seq_start[s];
    if (len > cfg_.n_ctx_train) fail("train: a sequence of {} tokens exceeds the context length {}", len, cfg_.n_ctx_train);
    for (int64_t i = 0; i < len; ++i) pos_[static_cast<size_t>(b.seq_start[s] + i)] = static_cast<int32_t>(i);
  }
  batch_ = &b;
  const DenseParamsT<T> P = bind_params(layout_, cfg_, params_.data());
  const AttnShape ash{cfg_.n_head, cfg_.n_head_kv, HD};
  const auto N = static_cast<size_t>(n);

  std::vector<T> x(N * static_cast<size_t>(E));
  embedding_forward(x.data(), b.tokens.data(), P.tok_embd, n, E);
  for (int64_t il = 0; il < cfg_.n_layer; ++il) {
    const LayerParamsT<T>& L = P.layers[static_cast<size_t>(il)];
    LayerActs& a = acts_[static_cast<size_t>(il)];
    a.x_in = x;
    a.xn1.resize(N * E), a.rstd1.resize(N);
    rmsnorm_forward(a.xn1.data(), a.rstd1.data(), x.data(), L.attn_norm, n, E, cfg_.rms_eps, &pool_);
    a.q.resize(N * qd), a.k.resize(N * kvd), a.v.resize(N * kvd);
    matmul_forward(a.q.data(), a.xn1.data(), L.wq, L.bq, n, E, qd, &pool_);
    matmul_forward(a.k.data(), a.xn1.data(), L.wk, L.bk, n, E, kvd, &pool_);
    matmul_forward(a.v.data(), a.xn1.data(), L.wv, L.bv, n, E, kvd, &pool_);
    if (L.q_norm) {  // qwen3: RMSNorm over each head's q and k
      a.q_pre = a.q, a.k_pre = a.k;
      a.rstd_q.resize(N * cfg_.n_head), a.rstd_k.resize(N * cfg_.n_head_kv);
      rmsnorm_forward(a.q.data(), a.rstd_q.data(), a.q_pre.data(), L.q_norm, n * cfg_.n_head, HD, cfg_.rms_eps, &pool_);
      rmsnorm_forward(a.k.data(), a.rstd_k.data(), a.k_pre.data(), L.k_norm, n * cfg_.n_head_kv, HD, cfg_.rms_eps,
                      &pool_);
    }
    rope_forward(a.q.data(), pos_.data(), n, cfg_.n_head, HD, rope_);
    rope_forward(a.k.data(), pos_.data(), n, cfg_.n_head_kv, HD, rope_);
    a.probs.resize(attn_probs_size(b.seq_start.data(), b.n_seq(), cfg_.n_head));
    a.att.resize(N * qd);
    attention_forward(a.att.data(), a.probs.data(), a.q.data(), a.k.data(), a.v.data(), b.seq_start.data(),
                      b.n_seq(), ash, &pool_);
    std::vector<T>& tmp = tmp_;
    tmp.resize(N * E);
    matmul_forward(tmp.data(), a.att.data(), L.wo, static_cast<const T*>(nullptr), n, qd, E, &pool_);
    add_inplace(x.data(), tmp.data(), n * E);
    a.x_mid = x;
    a.xn2.resize(N * E), a.rstd2.resize(N);
    rmsnorm_forward(a.xn2.data(), a.rstd2.data(), x.data(), L.ffn_norm, n, E, cfg_.rms_eps, &pool_);
    a.gate.resize(N * F), a.up.resize(N * F), a.h.resize(N * F);
    matmul_forward(a.gate.data(), a.xn2.data(), L.w_gate, static_cast<const T*>(nullptr), n, E, F, &pool_);
    matmul_forward(a.up.data(), a.xn2.data(), L.w_up, static_cast<const T*>(nullptr), n, E, F, &pool_);
    swiglu_forward(a.h.data(), a.gate.data(), a.up.data(), n * F);
    matmul_forward(tmp.data(), a.h.data(), L.w_down, static_cast<const T*>(nullptr), n, F, E, &pool_);
    add_inplace(x.data(), tmp.data(), n * E);
  }
  x_out_ = std::move(x);
  xnf_.resize(N * E), rstdf_.resize(N);
  rmsnorm_forward(xnf_.data(), rstdf_.data(), x_out_.data(), P.output_norm, n, E, cfg_.rms_eps, &pool_);
  probs_.resize(N * static_cast<size_t>(V));
  matmul_forward(probs_.data(), xnf_.data(), P.output, static_cast<const T*>(nullptr), n, E, V, &pool_);
  logp_.resize(N);
  logprob_forward(probs_.data(), logp_.data(), b.targets.data(), n, V, &pool_);
  return logp_;
}

template <class T>
void TransformerT<T>::backward(std::span<const T> dlogp) {
  const Batch& b = *batch_;
  const int64_t n = b.n(), E = cfg_.n_embd, V = cfg_.n_vocab, HD = cfg_.head_dim;
  const int64_t qd = cfg_.n_head * HD, kvd = cfg_.n_head_kv * HD, F = cfg_.n_ff;
  if (static_cast<int64_t>(dlogp.size()) != n) fail("train: backward got {} gradients for {} rows", dlogp.size(), n);
  const DenseParamsT<T> P = bind_params(layout_, cfg_, params_.data());
  const DenseParamsT<T> G = bind_params(layout_, cfg_, grads_.data());
  const AttnShape ash{cfg_.n_head, cfg_.n_head_kv, HD};
  const auto N = static_cast<size_t>(n);
  auto zeros = [](std::vector<T>& v, size_t size) { v.assign(size, T(0)); };

  // Head: dlogits (in place over the saved probabilities), output projection, final norm.
  logprob_backward(probs_.data(), probs_.data(), dlogp.data(), b.targets.data(), n, V, &pool_);
  std::vector<T>& dx = dx_;
  std::vector<T>& dxn = dxn_;
  zeros(dx, N * E), zeros(dxn, N * E);
  matmul_backward(dxn.data(), G.output, static_cast<T*>(nullptr), probs_.data(), xnf_.data(), P.output, n, E, V,
                  &pool_, &mm_);
  rmsnorm_backward(dx.data(), G.output_norm, dxn.data(), x_out_.data(), P.output_norm, rstdf_.data(), n, E, &pool_);

  std::vector<T>&dh = dh_, &dgate = dgate_, &dup = dup_, &datt = datt_, &dq = dq_, &dk = dk_, &dv = dv_;
  for (int64_t il = cfg_.n_layer - 1; il >= 0; --il) {
    const LayerParamsT<T>& L = P.layers[static_cast<size_t>(il)];
    const LayerParamsT<T>& GL = G.layers[static_cast<size_t>(il)];
    const LayerActs& a = acts_[static_cast<size_t>(il)];
    // FFN block: x_out = x_mid + W_down (silu(W_gate xn2) * (W_up xn2)).
    zeros(dh, N * F), zeros(dgate, N * F), zeros(dup, N * F), zeros(dxn, N * E);
    matmul_backward(dh.data(), GL.w_down, static_cast<T*>(nullptr), dx.data(), a.h.data(), L.w_down, n, F, E,
                    &pool_, &mm_);
    swiglu_backward(dgate.data(), dup.data(), dh.data(), a.gate.data(), a.up.data(), n * F);
    matmul_backward(dxn.data(), GL.w_gate, static_cast<T*>(nullptr), dgate.data(), a.xn2.data(), L.w_gate, n, E,
                    F, &pool_, &mm_);
    matmul_backward(dxn.data(), GL.w_up, static_cast<T*>(nullptr), dup.data(), a.xn2.data(), L.w_up, n, E, F,
                    &pool_, &mm_);
    rmsnorm_backward(dx.data(), GL.ffn_norm, dxn.data(), a.x_mid.data(), L.ffn_norm, a.rstd2.data(), n, E, &pool_);
    // Attention block: x_mid = x_in + W_o attn(rope(W_q xn1 + b_q), rope(W_k xn1 + b_k), W_v xn1 + b_v).
    zeros(datt, N * qd), zeros(dq, N * qd), zeros(dk, N * kvd), zeros(dv, N * kvd), zeros(dxn, N * E);
    matmul_backward(datt.data(), GL.wo, static_cast<T*>(nullptr), dx.data(), a.att.data(), L.wo, n, qd, E,
                    &pool_, &mm_);
    attention_backward(dq.data(), dk.data(), dv.data(), datt.data(), a.probs.data(), a.q.data(), a.k.data(),
                       a.v.data(), b.seq_start.data(), b.n_seq(), ash, &pool_);
    rope_backward(dq.data(), pos_.data(), n, cfg_.n_head, HD, rope_);
    rope_backward(dk.data(), pos_.data(), n, cfg_.n_head_kv, HD, rope_);
    const T* dq_in = dq.data();
    const T* dk_in = dk.data();
    if (L.q_norm) {  // qwen3: back through the per-head norms
      zeros(dq_pre_, N * qd), zeros(dk_pre_, N * kvd);
      rmsnorm_backward(dq_pre_.data(), GL.q_norm, dq.data(), a.q_pre.data(), L.q_norm, a.rstd_q.data(),
                       n * cfg_.n_head, HD, &pool_);
      rmsnorm_backward(dk_pre_.data(), GL.k_norm, dk.data(), a.k_pre.data(), L.k_norm, a.rstd_k.data(),
                       n * cfg_.n_head_kv, HD, &pool_);
      dq_in = dq_pre_.data(), dk_in = dk_pre_.data();
    }
    matmul_backward(dxn.data(), GL.wq, GL.bq, dq_in, a.xn1.data(), L.wq, n, E, qd, &pool_, &mm_);
    matmul_backward(dxn.data(), GL.wk, GL.bk, dk_in, a.xn1.data(), L.wk, n, E, kvd, &pool_, &mm_);
    matmul_backward(dxn.data(), GL.wv, GL.bv, dv.data(), a.xn1.data(), L.wv, n, E, kvd, &pool_, &mm_);
    rmsnorm_backward(dx.data(), GL.attn_norm, dxn.data(), a.x_in.data(), L.attn_norm, a.rstd1.data(), n, E, &pool_);
  }
  embedding_backward(G.tok_embd, dx.data(), b.tokens.data(), n, E);
}

template class TransformerT<float>;
template class TransformerT<double>;

}  // namespace r1::train
