// The name table: the GGUF name of every tensor kind (llama.cpp's LLM_TENSOR_NAMES for the
// families r1 runs). The only file in src/ that spells tensor names (tests/unit/
// model_registry_test.cpp checks that).
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "model/registry/registry.hpp"

namespace r1 {

namespace {

struct NameEntry {
  TensorKind kind;
  const char* suffix;
  bool per_layer;
};

constexpr NameEntry kNames[] = {
    {TensorKind::token_embd, "token_embd.weight", false},
    {TensorKind::output_norm, "output_norm.weight", false},
    {TensorKind::output, "output.weight", false},
    {TensorKind::rope_freqs, "rope_freqs.weight", false},
    {TensorKind::attn_norm, "attn_norm.weight", true},
    {TensorKind::attn_q, "attn_q.weight", true},
    {TensorKind::attn_k, "attn_k.weight", true},
    {TensorKind::attn_v, "attn_v.weight", true},
    {TensorKind::attn_q_bias, "attn_q.bias", true},
    {TensorKind::attn_k_bias, "attn_k.bias", true},
    {TensorKind::attn_v_bias, "attn_v.bias", true},
    {TensorKind::attn_q_norm, "attn_q_norm.weight", true},
    {TensorKind::attn_k_norm, "attn_k_norm.weight", true},
    {TensorKind::attn_output, "attn_output.weight", true},
    {TensorKind::attn_output_bias, "attn_output.bias", true},
    {TensorKind::ffn_norm, "ffn_norm.weight", true},
    {TensorKind::ffn_gate, "ffn_gate.weight", true},
    {TensorKind::ffn_up, "ffn_up.weight", true},
    {TensorKind::ffn_down, "ffn_down.weight", true},
    {TensorKind::attn_q_a, "attn_q_a.weight", true},
    {TensorKind::attn_q_a_norm, "attn_q_a_norm.weight", true},
    {TensorKind::attn_q_b, "attn_q_b.weight", true},
    {TensorKind::attn_kv_a_mqa, "attn_kv_a_mqa.weight", true},
    {TensorKind::attn_kv_a_norm, "attn_kv_a_norm.weight", true},
    {TensorKind::attn_k_b, "attn_k_b.weight", true},
    {TensorKind::attn_v_b, "attn_v_b.weight", true},
    {TensorKind::attn_kv_b, "attn_kv_b.weight", true},
    {TensorKind::ffn_gate_inp, "ffn_gate_inp.weight", true},
    {TensorKind::exp_probs_b, "exp_probs_b.bias", true},
    {TensorKind::ffn_gate_exps, "ffn_gate_exps.weight", true},
    {TensorKind::ffn_up_exps, "ffn_up_exps.weight", true},
    {TensorKind::ffn_gate_up_exps, "ffn_gate_up_exps.weight", true},
    {TensorKind::ffn_down_exps, "ffn_down_exps.weight", true},
    {TensorKind::ffn_gate_shexp, "ffn_gate_shexp.weight", true},
    {TensorKind::ffn_up_shexp, "ffn_up_shexp.weight", true},
    {TensorKind::ffn_down_shexp, "ffn_down_shexp.weight", true},
    {TensorKind::nextn_eh_proj, "nextn.eh_proj.weight", true},
    {TensorKind::nextn_enorm, "nextn.enorm.weight", true},
    {TensorKind::nextn_hnorm, "nextn.hnorm.weight", true},
    {TensorKind::nextn_shared_head_norm, "nextn.shared_head_norm.weight", true},
    {TensorKind::nextn_embed_tokens, "nextn.embed_tokens.weight", true},
    {TensorKind::nextn_shared_head_head, "nextn.shared_head_head.weight", true},
};
static_assert(std::size(kNames) == static_cast<size_t>(TensorKind::count), "one name per tensor kind");

const NameEntry& entry(TensorKind k) { return kNames[static_cast<size_t>(k)]; }

constexpr const char* kLayerPrefix = "blk.";

}  // namespace

const char* tensor_suffix(TensorKind k) { return entry(k).suffix; }
bool tensor_per_layer(TensorKind k) { return entry(k).per_layer; }

std::string tensor_name(TensorKind k, int64_t layer) {
  const NameEntry& e = entry(k);
  if (!e.per_layer) return e.suffix;
  return kLayerPrefix + std::to_string(layer) + "." + e.suffix;
}

int64_t tensor_layer(const std::string& name) {
  const size_t plen = std::strlen(kLayerPrefix);
  if (name.compare(0, plen, kLayerPrefix) != 0) return -1;
  char* end = nullptr;
  const long long v = std::strtoll(name.c_str() + plen, &end, 10);
  return end == name.c_str() + plen || *end != '.' || v < 0 ? -1 : static_cast<int64_t>(v);
}

bool parse_tensor_name(const std::string& name, TensorKind* kind, int64_t* layer) {
  const char* rest = name.c_str();
  const int64_t il = tensor_layer(name);
  if (il >= 0) {
    rest = std::strchr(rest + std::strlen(kLayerPrefix), '.') + 1;
  } else if (name.compare(0, std::strlen(kLayerPrefix), kLayerPrefix) == 0) {
    return false;
  }
  for (const NameEntry& e : kNames)
    if (e.per_layer == (il >= 0) && std::strcmp(rest, e.suffix) == 0) {
      *kind = e.kind;
      *layer = il;
      return true;
    }
  return false;
}

}  // namespace r1
