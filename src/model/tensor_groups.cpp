#include "model/tensor_groups.hpp"

namespace r1 {

TensorGroup tensor_group(TensorKind kind) {
  using K = TensorKind;
  switch (kind) {
    case K::ffn_gate_exps:
    case K::ffn_up_exps:
    case K::ffn_gate_up_exps:
    case K::ffn_down_exps: return TensorGroup::routed_experts;
    case K::ffn_gate_shexp:
    case K::ffn_up_shexp:
    case K::ffn_down_shexp: return TensorGroup::shared_experts;
    case K::attn_q:
    case K::attn_k:
    case K::attn_v:
    case K::attn_q_bias:
    case K::attn_k_bias:
    case K::attn_v_bias:
    case K::attn_output:
    case K::attn_output_bias:
    case K::attn_q_a:
    case K::attn_q_b:
    case K::attn_kv_a_mqa:
    case K::attn_k_b:
    case K::attn_v_b:
    case K::attn_kv_b: return TensorGroup::attention;
    case K::ffn_gate:
    case K::ffn_up:
    case K::ffn_down: return TensorGroup::dense_ffn;
    case K::token_embd:
    case K::output:
    case K::nextn_embed_tokens:
    case K::nextn_shared_head_head: return TensorGroup::embedding_output;
    case K::output_norm:
    case K::rope_freqs:
    case K::attn_norm:
    case K::attn_q_norm:
    case K::attn_k_norm:
    case K::ffn_norm:
    case K::attn_q_a_norm:
    case K::attn_kv_a_norm:
    case K::ffn_gate_inp:
    case K::exp_probs_b:
    case K::nextn_eh_proj:
    case K::nextn_enorm:
    case K::nextn_hnorm:
    case K::nextn_shared_head_norm:
    case K::count: break;
  }
  return TensorGroup::other;
}

TensorGroup tensor_group_of(const std::string& name) {
  TensorKind kind = TensorKind::count;
  int64_t layer = -1;
  return parse_tensor_name(name, &kind, &layer) ? tensor_group(kind) : TensorGroup::other;
}

const char* tensor_group_id(TensorGroup g) {
  switch (g) {
    case TensorGroup::routed_experts: return "routed_experts";
    case TensorGroup::shared_experts: return "shared_experts";
    case TensorGroup::attention: return "attention";
    case TensorGroup::dense_ffn: return "dense_ffn";
    case TensorGroup::embedding_output: return "embedding_output";
    case TensorGroup::other:
    case TensorGroup::count: break;
  }
  return "other";
}

const char* tensor_group_label(TensorGroup g) {
  switch (g) {
    case TensorGroup::routed_experts: return "routed experts";
    case TensorGroup::shared_experts: return "shared experts";
    case TensorGroup::attention: return "attention";
    case TensorGroup::dense_ffn: return "dense ffn";
    case TensorGroup::embedding_output: return "embedding+output";
    case TensorGroup::other:
    case TensorGroup::count: break;
  }
  return "other (norms, router)";
}

}  // namespace r1
