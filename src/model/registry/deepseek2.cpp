// Tensor table of deepseek2 (DeepSeek-V2, V2-Lite, V3, R1) in the split MLA layout that
// current llama.cpp converters write (src/models/deepseek2.cpp), or, for a config read
// from an older file (mla.legacy_kv_b), with one attn_kv_b per layer in place of
// attn_k_b / attn_v_b (the binder derives those from it: weights.hpp). MLA attention with an
// optional q LoRA, leading dense feed-forward blocks, then DeepSeekMoE blocks (router,
// optional selection bias, stacked routed experts, shared experts); trailing
// multi-token-prediction layers are listed as skipped. Shapes are GGML order; 3-D
// tensors stack one matrix per head or expert: {cols, rows, n}.
#include "base/error.hpp"
#include "model/registry/registry.hpp"

namespace r1 {

std::vector<TensorSpec> deepseek2_tensors(const ModelConfig& c, const TensorChoices& ch) {
  if (c.arch != Arch::deepseek2) fail("deepseek2_tensors: not a deepseek2 config");
  const int64_t E = c.n_embd, V = c.n_vocab, H = c.n_head, HK = c.head_dim;
  const int64_t QL = c.mla.q_lora_rank, R = c.mla.kv_lora_rank, P = c.qk_rope(), VH = c.mla.v_head;
  const int64_t F = c.moe.n_ff_exp, X = c.moe.n_expert, FS = F * c.moe.n_expert_shared;
  std::vector<TensorSpec> t;
  Presence presence = Presence::run;
  auto add = [&](TensorKind k, int64_t layer, std::vector<int64_t> shape, Init init, QuantClass q, Op op,
                 int64_t fan_in = 0) {
    t.push_back(make_spec(k, layer, std::move(shape), init, q, op, fan_in));
    if (layer >= 0) t.back().presence = presence;
  };
  using K = TensorKind;
  using Q = QuantClass;
  add(K::token_embd, -1, {E, V}, Init::normal, Q::embedding, Op::get_rows);
  add(K::output_norm, -1, {E}, Init::ones, Q::vector, Op::none);
  if (!c.tied_output) add(K::output, -1, {E, V}, Init::normal, Q::output, Op::mul_mat);
  for (int64_t i = 0; i < c.n_layer + c.n_nextn; ++i) {
    presence = i < c.n_layer ? Presence::run : Presence::skipped;
    add(K::attn_norm, i, {E}, Init::ones, Q::vector, Op::none);
    if (QL > 0) {
      add(K::attn_q_a, i, {E, QL}, Init::normal, Q::matrix, Op::mul_mat);
      add(K::attn_q_a_norm, i, {QL}, Init::ones, Q::vector, Op::none);
      add(K::attn_q_b, i, {QL, H * HK}, Init::normal, Q::matrix, Op::mul_mat);
    } else {
      add(K::attn_q, i, {E, H * HK}, Init::normal, Q::matrix, Op::mul_mat);
    }
    add(K::attn_kv_a_mqa, i, {E, R + P}, Init::normal, Q::matrix, Op::mul_mat);  // latent, then rope key
    add(K::attn_kv_a_norm, i, {R}, Init::ones, Q::vector, Op::none);
    if (c.mla.legacy_kv_b) {
      // per head h: rows h (nope + v) .. + nope expand the latent into k_nope, the next
      // v rows into the value (llama.cpp's wkv_b). Never read by a product itself.
      add(K::attn_kv_b, i, {R, H * (c.mla.qk_nope + VH)}, Init::normal, Q::matrix, Op::none);
    } else {
      // per head: (kv_lora_rank x qk_nope) absorbs q_nope into the latent (k_nope = k_b^T latent)
      add(K::attn_k_b, i, {c.mla.qk_nope, R, H}, Init::normal, Q::matrix, Op::mul_mat_3d, R);
      add(K::attn_v_b, i, {R, VH, H}, Init::normal, Q::matrix, Op::mul_mat_3d);  // latent -> value
    }
    add(K::attn_output, i, {H * VH, E}, Init::residual, Q::matrix, Op::mul_mat);
    add(K::ffn_norm, i, {E}, Init::ones, Q::vector, Op::none);
    if (i < c.moe.n_dense_lead) {
      add(K::ffn_gate, i, {E, c.n_ff}, Init::normal, Q::matrix, Op::mul_mat);
      add(K::ffn_up, i, {E, c.n_ff}, Init::normal, Q::matrix, Op::mul_mat);
      add(K::ffn_down, i, {c.n_ff, E}, Init::residual, Q::sensitive, Op::mul_mat);
    } else {
      add(K::ffn_gate_inp, i, {E, X}, Init::normal, Q::router, Op::mul_mat);
      if (ch.exp_probs_b) add(K::exp_probs_b, i, {X}, Init::zeros, Q::vector, Op::none);
      if (ch.fused_gate_up_exps) {
        add(K::ffn_gate_up_exps, i, {E, 2 * F, X}, Init::normal, Q::matrix, Op::mul_mat_id);  // per expert: gate, up
      } else {
        add(K::ffn_gate_exps, i, {E, F, X}, Init::normal, Q::matrix, Op::mul_mat_id);
        add(K::ffn_up_exps, i, {E, F, X}, Init::normal, Q::matrix, Op::mul_mat_id);
      }
      add(K::ffn_down_exps, i, {F, E, X}, Init::residual, Q::sensitive, Op::mul_mat_id);
      if (FS > 0) {
        add(K::ffn_gate_shexp, i, {E, FS}, Init::normal, Q::matrix, Op::mul_mat);
        add(K::ffn_up_shexp, i, {E, FS}, Init::normal, Q::matrix, Op::mul_mat);
        add(K::ffn_down_shexp, i, {FS, E}, Init::residual, Q::sensitive, Op::mul_mat);
      }
    }
    if (i >= c.n_layer) {  // multi-token-prediction head (DeepSeek-V3 layout)
      add(K::nextn_eh_proj, i, {2 * E, E}, Init::normal, Q::matrix, Op::mul_mat);
      add(K::nextn_enorm, i, {E}, Init::ones, Q::vector, Op::none);
      add(K::nextn_hnorm, i, {E}, Init::ones, Q::vector, Op::none);
      add(K::nextn_shared_head_norm, i, {E}, Init::ones, Q::vector, Op::none);
    }
  }
  return t;
}

}  // namespace r1
