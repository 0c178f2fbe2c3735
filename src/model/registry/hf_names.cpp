// The Hugging Face name table (transformers' module paths) for every tensor kind r1
// converts; see hf_names.hpp for the layout rules.
#include "model/registry/hf_names.hpp"

#include <cstdlib>
#include <cstring>

#include "base/error.hpp"

namespace r1 {

namespace {

constexpr const char* kLayers = "model.layers.";

// The per-layer module path of a kind, "" when it has none of its own.
const char* layer_path(TensorKind k) {
  using K = TensorKind;
  switch (k) {
    case K::attn_norm: return "input_layernorm.weight";
    case K::attn_q: return "self_attn.q_proj.weight";
    case K::attn_k: return "self_attn.k_proj.weight";
    case K::attn_v: return "self_attn.v_proj.weight";
    case K::attn_q_bias: return "self_attn.q_proj.bias";
    case K::attn_k_bias: return "self_attn.k_proj.bias";
    case K::attn_v_bias: return "self_attn.v_proj.bias";
    case K::attn_q_norm: return "self_attn.q_norm.weight";
    case K::attn_k_norm: return "self_attn.k_norm.weight";
    case K::attn_output: return "self_attn.o_proj.weight";
    case K::attn_output_bias: return "self_attn.o_proj.bias";
    case K::ffn_norm: return "post_attention_layernorm.weight";
    case K::ffn_gate: return "mlp.gate_proj.weight";
    case K::ffn_up: return "mlp.up_proj.weight";
    case K::ffn_down: return "mlp.down_proj.weight";
    case K::attn_q_a: return "self_attn.q_a_proj.weight";
    case K::attn_q_a_norm: return "self_attn.q_a_layernorm.weight";
    case K::attn_q_b: return "self_attn.q_b_proj.weight";
    case K::attn_kv_a_mqa: return "self_attn.kv_a_proj_with_mqa.weight";
    case K::attn_kv_a_norm: return "self_attn.kv_a_layernorm.weight";
    case K::attn_kv_b:
    case K::attn_k_b:
    case K::attn_v_b: return "self_attn.kv_b_proj.weight";
    case K::ffn_gate_inp: return "mlp.gate.weight";
    case K::exp_probs_b: return "mlp.gate.e_score_correction_bias";
    case K::ffn_gate_exps: return "gate_proj.weight";  // under mlp.experts.<e>.
    case K::ffn_up_exps: return "up_proj.weight";
    case K::ffn_down_exps: return "down_proj.weight";
    case K::ffn_gate_shexp: return "mlp.shared_experts.gate_proj.weight";
    case K::ffn_up_shexp: return "mlp.shared_experts.up_proj.weight";
    case K::ffn_down_shexp: return "mlp.shared_experts.down_proj.weight";
    default: return "";
  }
}

std::string layer_name(int64_t layer, const std::string& rest) {
  return kLayers + std::to_string(layer) + "." + rest;
}

}  // namespace

HfSource hf_source_of(const TensorSpec& s, const ModelConfig& c) {
  using K = TensorKind;
  HfSource src;
  switch (s.kind) {
    case K::token_embd: src.names = {"model.embed_tokens.weight"}; return src;
    case K::output_norm: src.names = {"model.norm.weight"}; return src;
    case K::output:
      src.names = {"lm_head.weight"};
      src.optional = true;
      return src;
    case K::rope_freqs: src.how = HfTransform::computed; return src;
    default: break;
  }
  const std::string path = layer_path(s.kind);
  if (path.empty() || s.layer < 0) fail("{}: no Hugging Face counterpart", s.name);
  const std::string name = layer_name(s.layer, path);
  switch (s.kind) {
    case K::attn_q:
    case K::attn_q_bias:
    case K::attn_k:
    case K::attn_k_bias:
      if (c.arch == Arch::llama) {
        src.how = HfTransform::permute_rope;
        src.heads = s.kind == K::attn_q || s.kind == K::attn_q_bias ? c.n_head : c.n_head_kv;
      }
      break;
    case K::attn_k_b: src.how = HfTransform::kv_b_key_t; break;
    case K::attn_v_b: src.how = HfTransform::kv_b_value; break;
    case K::ffn_gate_exps:
    case K::ffn_up_exps:
    case K::ffn_down_exps:
      src.how = HfTransform::stack;
      for (int64_t e = 0; e < c.moe.n_expert; ++e)
        src.names.push_back(layer_name(s.layer, "mlp.experts." + std::to_string(e) + "." + path));
      return src;
    default: break;
  }
  src.names = {name};
  return src;
}

bool hf_tensor_ignored(const std::string& name, const ModelConfig& c) {
  const auto ends_with = [&](const char* t) {
    const size_t n = std::strlen(t);
    return name.size() >= n && name.compare(name.size() - n, n, t) == 0;
  };
  if (ends_with("rotary_emb.inv_freq") || ends_with("_scale_inv")) return true;
  if (c.arch == Arch::deepseek2 && name.compare(0, std::strlen(kLayers), kLayers) == 0) {
    char* end = nullptr;
    const long long layer = std::strtoll(name.c_str() + std::strlen(kLayers), &end, 10);
    if (end != name.c_str() + std::strlen(kLayers) && *end == '.' && layer >= c.n_layer) return true;
  }
  return false;
}

}  // namespace r1
