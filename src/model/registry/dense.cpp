// Tensor table of the dense families: llama (incl. Llama-3 rope_freqs and an optional
// attn_output bias), qwen2 (q/k/v biases) and qwen3 (per-head q/k RMSNorm). Shapes are
// GGML order: {cols, rows}.
#include "base/error.hpp"
#include "model/registry/registry.hpp"

namespace r1 {

std::vector<TensorSpec> dense_tensors(const ModelConfig& c, const TensorChoices& ch) {
  if (c.arch == Arch::deepseek2) fail("dense_tensors: deepseek2 has its own table");
  const int64_t E = c.n_embd, V = c.n_vocab, HD = c.head_dim, F = c.n_ff;
  const int64_t qd = c.n_head * HD, kvd = c.n_head_kv * HD;
  std::vector<TensorSpec> t;
  auto add = [&t](TensorKind k, int64_t layer, std::vector<int64_t> shape, Init init, QuantClass q, Op op) {
    t.push_back(make_spec(k, layer, std::move(shape), init, q, op));
  };
  using K = TensorKind;
  using Q = QuantClass;
  add(K::token_embd, -1, {E, V}, Init::normal, Q::embedding, Op::get_rows);
  add(K::output_norm, -1, {E}, Init::ones, Q::vector, Op::none);
  if (!c.tied_output) add(K::output, -1, {E, V}, Init::normal, Q::output, Op::mul_mat);
  if (ch.rope_freqs) add(K::rope_freqs, -1, {c.rope.n_dims / 2}, Init::computed, Q::vector, Op::none);
  for (int64_t i = 0; i < c.n_layer; ++i) {
    add(K::attn_norm, i, {E}, Init::ones, Q::vector, Op::none);
    add(K::attn_q, i, {E, qd}, Init::normal, Q::matrix, Op::mul_mat);
    add(K::attn_k, i, {E, kvd}, Init::normal, Q::matrix, Op::mul_mat);
    add(K::attn_v, i, {E, kvd}, Init::normal, Q::sensitive, Op::mul_mat);
    if (c.arch == Arch::qwen2) {
      add(K::attn_q_bias, i, {qd}, Init::zeros, Q::vector, Op::none);
      add(K::attn_k_bias, i, {kvd}, Init::zeros, Q::vector, Op::none);
      add(K::attn_v_bias, i, {kvd}, Init::zeros, Q::vector, Op::none);
    }
    if (c.arch == Arch::qwen3) {
      add(K::attn_q_norm, i, {HD}, Init::ones, Q::vector, Op::none);
      add(K::attn_k_norm, i, {HD}, Init::ones, Q::vector, Op::none);
    }
    add(K::attn_output, i, {qd, E}, Init::residual, Q::matrix, Op::mul_mat);
    if (ch.attn_output_bias) add(K::attn_output_bias, i, {E}, Init::zeros, Q::vector, Op::none);
    add(K::ffn_norm, i, {E}, Init::ones, Q::vector, Op::none);
    add(K::ffn_gate, i, {E, F}, Init::normal, Q::matrix, Op::mul_mat);
    add(K::ffn_up, i, {E, F}, Init::normal, Q::matrix, Op::mul_mat);
    add(K::ffn_down, i, {F, E}, Init::residual, Q::sensitive, Op::mul_mat);
  }
  return t;
}

}  // namespace r1
