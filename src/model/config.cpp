#include "model/config.hpp"

#include <cmath>

#include "base/error.hpp"
#include "format/gguf.hpp"

namespace r1 {

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::llama: return "llama";
    case Arch::qwen2: return "qwen2";
    case Arch::qwen3: return "qwen3";
    case Arch::deepseek2: return "deepseek2";
  }
  return "?";
}

namespace {

// A positive integer hyper-parameter, bounded so later size arithmetic cannot overflow.
int64_t positive(const gguf::Metadata& md, const std::string& key, int64_t max) {
  int64_t v = md.get_int(key);
  if (v < 1 || v > max) fail("metadata key '{}' = {} is out of range [1, {}]", key, v, max);
  return v;
}

}  // namespace

ModelConfig ModelConfig::from_gguf(const gguf::Metadata& md) {
  ModelConfig c;
  const std::string arch = md.get_string("general.architecture");
  if (arch == "llama") c.arch = Arch::llama;
  else if (arch == "qwen2") c.arch = Arch::qwen2;
  else if (arch == "qwen3") c.arch = Arch::qwen3;
  else fail("unsupported architecture '{}' (supported: llama, qwen2, qwen3)", arch);
  const std::string p = arch + ".";
  c.name = md.get_string_or("general.name", "");

  constexpr int64_t kMaxDim = int64_t{1} << 20;
  c.n_embd = positive(md, p + "embedding_length", kMaxDim);
  c.n_layer = positive(md, p + "block_count", 4096);
  c.n_ff = positive(md, p + "feed_forward_length", kMaxDim);
  c.n_head = positive(md, p + "attention.head_count", 16384);
  c.n_head_kv = md.has(p + "attention.head_count_kv") ? positive(md, p + "attention.head_count_kv", 16384) : c.n_head;
  if (c.n_head % c.n_head_kv != 0)
    fail("attention.head_count ({}) is not a multiple of attention.head_count_kv ({})", c.n_head, c.n_head_kv);
  c.n_ctx_train = positive(md, p + "context_length", int64_t{1} << 24);
  if (md.has(p + "attention.key_length")) {
    c.head_dim = positive(md, p + "attention.key_length", 4096);
    if (md.has(p + "attention.value_length") && md.get_int(p + "attention.value_length") != c.head_dim)
      fail("attention.value_length differs from attention.key_length: not supported for {}", arch);
  } else {
    if (c.n_embd % c.n_head != 0) fail("embedding_length {} is not a multiple of head_count {}", c.n_embd, c.n_head);
    c.head_dim = c.n_embd / c.n_head;
  }
  c.rope_dim = md.has(p + "rope.dimension_count") ? positive(md, p + "rope.dimension_count", 4096) : c.head_dim;
  if (c.rope_dim > c.head_dim || c.rope_dim % 2 != 0)
    fail("rope.dimension_count {} must be even and at most the head size {}", c.rope_dim, c.head_dim);
  if (c.arch == Arch::qwen3 && c.rope_dim != c.head_dim) fail("qwen3 needs rope.dimension_count == head size");

  c.rms_eps = static_cast<float>(md.get_float(p + "attention.layer_norm_rms_epsilon"));
  if (!(c.rms_eps > 0) || !std::isfinite(c.rms_eps)) fail("attention.layer_norm_rms_epsilon must be positive");
  c.rope_theta = static_cast<float>(md.get_float_or(p + "rope.freq_base", 10000.0));
  if (!(c.rope_theta > 0) || !std::isfinite(c.rope_theta)) fail("rope.freq_base must be positive");

  const std::string scaling = md.get_string_or(p + "rope.scaling.type", "none");
  if (scaling == "linear") {
    double factor = md.get_float_or(p + "rope.scaling.factor", 1.0);
    if (!(factor > 0)) fail("rope.scaling.factor must be positive");
    c.rope_freq_scale = static_cast<float>(1.0 / factor);
  } else if (scaling != "none" && scaling != "") {
    fail("rope.scaling.type '{}' is not supported for {}", scaling, arch);
  } else if (md.has(p + "rope.scale_linear")) {
    double factor = md.get_float(p + "rope.scale_linear");
    if (!(factor > 0)) fail("rope.scale_linear must be positive");
    c.rope_freq_scale = static_cast<float>(1.0 / factor);
  }
  c.rope_style = c.arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
  return c;
}

}  // namespace r1
