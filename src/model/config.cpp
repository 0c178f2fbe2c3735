#include "model/config.hpp"

#include <cmath>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"

namespace r1 {

namespace {

struct ArchName {
  Arch arch;
  const char* name;
};
constexpr ArchName kArchs[] = {
    {Arch::llama, "llama"}, {Arch::qwen2, "qwen2"}, {Arch::qwen3, "qwen3"}, {Arch::deepseek2, "deepseek2"}};

// A positive integer hyper-parameter, bounded so later size arithmetic cannot overflow.
int64_t positive(const gguf::Metadata& md, const std::string& key, int64_t max) {
  int64_t v = md.get_int(key);
  if (v < 1 || v > max) fail("metadata key '{}' = {} is out of range [1, {}]", key, v, max);
  return v;
}

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

void read_dense_config(const gguf::Metadata& md, ModelConfig& c) {
  const std::string arch = arch_name(c.arch);
  const std::string p = arch + ".";
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
  c.rope.n_dims = md.has(p + "rope.dimension_count") ? positive(md, p + "rope.dimension_count", 4096) : c.head_dim;
  if (c.rope.n_dims > c.head_dim || c.rope.n_dims % 2 != 0)
    fail("rope.dimension_count {} must be even and at most the head size {}", c.rope.n_dims, c.head_dim);
  if (c.arch == Arch::qwen3 && c.rope.n_dims != c.head_dim) fail("qwen3 needs rope.dimension_count == head size");

  c.rms_eps = static_cast<float>(md.get_float(p + "attention.layer_norm_rms_epsilon"));
  if (!(c.rms_eps > 0) || !std::isfinite(c.rms_eps)) fail("attention.layer_norm_rms_epsilon must be positive");
  c.rope.freq_base = static_cast<float>(md.get_float_or(p + "rope.freq_base", 10000.0));
  if (!(c.rope.freq_base > 0) || !std::isfinite(c.rope.freq_base)) fail("rope.freq_base must be positive");

  const std::string scaling = md.get_string_or(p + "rope.scaling.type", "none");
  double factor = 0;
  if (scaling == "linear") {
    factor = md.get_float_or(p + "rope.scaling.factor", 1.0);
    if (!(factor > 0)) fail("rope.scaling.factor must be positive");
    c.rope_scaling = "linear";
  } else if (scaling != "none" && scaling != "") {
    fail("rope.scaling.type '{}' is not supported for {}", scaling, arch);
  } else if (md.has(p + "rope.scale_linear")) {
    factor = md.get_float(p + "rope.scale_linear");
    if (!(factor > 0)) fail("rope.scale_linear must be positive");
    c.rope_scaling = "linear";
  }
  if (factor > 0) {
    c.rope_scaling_factor = static_cast<float>(factor);
    c.rope.freq_scale = static_cast<float>(1.0 / factor);
  }
  c.rope.style = c.arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
}

void write_dense_metadata(gguf::Writer& w, const ModelConfig& c) {
  using gguf::Value;
  const std::string a = std::string(arch_name(c.arch)) + ".";
  w.set(a + "context_length", Value::from_u32(u32(c.n_ctx_train)));
  w.set(a + "embedding_length", Value::from_u32(u32(c.n_embd)));
  w.set(a + "block_count", Value::from_u32(u32(c.n_layer)));
  w.set(a + "feed_forward_length", Value::from_u32(u32(c.n_ff)));
  w.set(a + "attention.head_count", Value::from_u32(u32(c.n_head)));
  w.set(a + "attention.head_count_kv", Value::from_u32(u32(c.n_head_kv)));
  w.set(a + "attention.layer_norm_rms_epsilon", Value::from_f32(c.rms_eps));
  w.set(a + "rope.freq_base", Value::from_f32(c.rope.freq_base));
  w.set(a + "rope.dimension_count", Value::from_u32(u32(c.rope.n_dims)));
  if (c.head_dim * c.n_head != c.n_embd || c.arch == Arch::qwen3) {
    w.set(a + "attention.key_length", Value::from_u32(u32(c.head_dim)));
    w.set(a + "attention.value_length", Value::from_u32(u32(c.head_dim)));
  }
  if (c.rope_scaling == "linear") {
    w.set(a + "rope.scaling.type", Value::from_string("linear"));
    w.set(a + "rope.scaling.factor", Value::from_f32(c.rope_scaling_factor));
  }
  if (c.arch == Arch::llama && c.n_vocab > 0) w.set(a + "vocab_size", Value::from_u32(u32(c.n_vocab)));
}

}  // namespace

const char* arch_name(Arch a) {
  for (const ArchName& n : kArchs)
    if (n.arch == a) return n.name;
  return "?";
}

bool parse_arch(const std::string& name, Arch* out) {
  for (const ArchName& n : kArchs)
    if (name == n.name) {
      *out = n.arch;
      return true;
    }
  return false;
}

ModelConfig ModelConfig::from_gguf(const gguf::Metadata& md) {
  ModelConfig c;
  const std::string arch = md.get_string("general.architecture");
  if (!parse_arch(arch, &c.arch))
    fail("unsupported architecture '{}' (supported: llama, qwen2, qwen3, deepseek2)", arch);
  c.name = md.get_string_or("general.name", "");
  if (c.arch == Arch::deepseek2) read_deepseek2_config(md, c);
  else read_dense_config(md, c);
  return c;
}

void ModelConfig::validate() const {
  if (n_embd < 1 || n_layer < 1 || n_head < 1 || n_head_kv < 1 || head_dim < 2 || n_ctx_train < 1)
    fail("invalid dimensions (embd {}, layers {}, heads {}/{}, head size {}, ctx {}): all must be positive", n_embd,
         n_layer, n_head, n_head_kv, head_dim, n_ctx_train);
  if (n_head % n_head_kv != 0) fail("heads ({}) must be a multiple of kv heads ({})", n_head, n_head_kv);
  if (rope.n_dims < 2 || rope.n_dims % 2 != 0 || rope.n_dims > head_dim)
    fail("rope dims {} must be even, at least 2 and at most the head size {}", rope.n_dims, head_dim);
}

std::optional<ModelConfig> attention_shape_of(const gguf::Metadata& md) {
  ModelConfig c;
  const std::string arch = md.get_string_or("general.architecture", "");
  if (arch.empty()) return std::nullopt;
  if (!parse_arch(arch, &c.arch)) c.arch = Arch::llama;  // unknown families: plain GQA attention
  const std::string p = arch + ".";
  auto first_int = [&](const std::string& key, int64_t fallback) -> int64_t {
    const gguf::Value* v = md.find(key);
    if (!v) return fallback;
    if (v->type == gguf::ValueType::ARRAY) return v->arr.empty() ? fallback : v->arr[0].as_i64(key);
    return v->as_i64(key);
  };
  c.n_layer = first_int(p + "block_count", 0) - first_int(p + "nextn_predict_layers", 0);
  c.n_embd = first_int(p + "embedding_length", 0);
  c.n_head = first_int(p + "attention.head_count", 0);
  if (c.n_layer <= 0 || c.n_embd <= 0 || c.n_head <= 0) return std::nullopt;
  c.n_head_kv = first_int(p + "attention.head_count_kv", c.n_head);
  c.head_dim = first_int(p + "attention.key_length", c.n_embd / c.n_head);
  c.rope.n_dims = first_int(p + "rope.dimension_count", c.head_dim);
  if (c.arch == Arch::deepseek2) {  // MLA: the cache row is the latent + the rope key
    c.mla.kv_lora_rank = first_int(p + "attention.kv_lora_rank", 0);
    if (c.mla.kv_lora_rank <= 0) return std::nullopt;
  }
  if (c.n_head_kv <= 0 || c.head_dim <= 0) return std::nullopt;
  return c;
}

void write_config_metadata(gguf::Writer& w, const ModelConfig& c) {
  using gguf::Value;
  w.set("general.architecture", Value::from_string(arch_name(c.arch)));
  w.set("general.name", Value::from_string(c.name));
  if (c.arch == Arch::deepseek2) write_deepseek2_metadata(w, c);
  else write_dense_metadata(w, c);
}

}  // namespace r1
