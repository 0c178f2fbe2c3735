#include "train/model_io.hpp"

#include <cstring>
#include <fmt/format.h>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "kernels/types.hpp"

namespace r1::train {

namespace {

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

// llama.cpp LLAMA_FTYPE_* values for general.file_type.
uint32_t file_type(ExportType t) {
  switch (t) {
    case ExportType::f32: return 0;
    case ExportType::f16: return 1;
    case ExportType::q8_0: return 7;
  }
  return 0;
}

DType matrix_type(ExportType t, int64_t cols) {
  switch (t) {
    case ExportType::f32: return DType::F32;
    case ExportType::f16: return DType::F16;
    case ExportType::q8_0: return cols % 32 == 0 ? DType::Q8_0 : DType::F16;
  }
  return DType::F32;
}

}  // namespace

ExportType parse_export_type(const std::string& s) {
  if (s == "f32") return ExportType::f32;
  if (s == "f16") return ExportType::f16;
  if (s == "q8_0") return ExportType::q8_0;
  fail("unknown export type '{}' (f32, f16, q8_0)", s);
}

void write_model_metadata(gguf::Writer& w, const ModelMeta& meta, ExportType type) {
  using gguf::Value;
  const ModelConfig& c = meta.cfg;
  const std::string a = arch_name(c.arch);
  w.set("general.architecture", Value::from_string(a));
  w.set("general.name", Value::from_string(c.name.empty() ? "r1-trained" : c.name));
  w.set("general.file_type", Value::from_u32(file_type(type)));
  w.set(a + ".context_length", Value::from_u32(u32(c.n_ctx_train)));
  w.set(a + ".embedding_length", Value::from_u32(u32(c.n_embd)));
  w.set(a + ".block_count", Value::from_u32(u32(c.n_layer)));
  w.set(a + ".feed_forward_length", Value::from_u32(u32(c.n_ff)));
  w.set(a + ".attention.head_count", Value::from_u32(u32(c.n_head)));
  w.set(a + ".attention.head_count_kv", Value::from_u32(u32(c.n_head_kv)));
  w.set(a + ".attention.layer_norm_rms_epsilon", Value::from_f32(c.rms_eps));
  w.set(a + ".rope.freq_base", Value::from_f32(c.rope_theta));
  w.set(a + ".rope.dimension_count", Value::from_u32(u32(c.rope_dim)));
  if (c.head_dim * c.n_head != c.n_embd) {
    w.set(a + ".attention.key_length", Value::from_u32(u32(c.head_dim)));
    w.set(a + ".attention.value_length", Value::from_u32(u32(c.head_dim)));
  }
  if (c.arch == Arch::llama) w.set(a + ".vocab_size", Value::from_u32(u32(c.n_vocab)));

  VocabData v = meta.vocab;
  if (v.types.empty()) v.types.assign(v.tokens.size(), TokenType::normal);
  if (static_cast<int64_t>(v.tokens.size()) > c.n_vocab)
    fail("the tokenizer has {} tokens but the model only {} embedding rows", v.tokens.size(), c.n_vocab);
  for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < c.n_vocab; ++i) {
    v.tokens.push_back(fmt::format("[PAD{}]", i));
    v.types.push_back(TokenType::unused);
  }
  w.set("tokenizer.ggml.model", Value::from_string(v.model));
  w.set("tokenizer.ggml.pre", Value::from_string(v.pre));
  w.set("tokenizer.ggml.tokens", Value::from_strings(v.tokens));
  std::vector<int32_t> types;
  for (TokenType t : v.types) types.push_back(static_cast<int32_t>(t));
  w.set("tokenizer.ggml.token_type", Value::from_i32s(types));
  w.set("tokenizer.ggml.merges", Value::from_strings(v.merges));
  auto id = [&](const char* key, int32_t value) {
    if (value >= 0) w.set(key, Value::from_u32(static_cast<uint32_t>(value)));
  };
  id("tokenizer.ggml.bos_token_id", v.bos);
  id("tokenizer.ggml.eos_token_id", v.eos);
  id("tokenizer.ggml.eot_token_id", v.eot);
  id("tokenizer.ggml.padding_token_id", v.pad);
  id("tokenizer.ggml.unknown_token_id", v.unk);
  w.set("tokenizer.ggml.add_bos_token", Value::from_bool(v.add_bos));
  w.set("tokenizer.ggml.add_eos_token", Value::from_bool(v.add_eos));
  if (!v.chat_template.empty()) w.set("tokenizer.chat_template", Value::from_string(v.chat_template));
}

void add_param_tensors(gguf::Writer& w, const ParamLayout& layout, const float* params, ExportType type,
                       const std::string& prefix) {
  for (const ParamSpec& s : layout.specs()) {
    const float* src = params + s.offset;
    const DType t = s.rows > 0 ? matrix_type(type, s.cols) : DType::F32;
    const int64_t rows = s.rows > 0 ? s.rows : 1, cols = s.cols;
    w.add_tensor(prefix + s.name, t, s.gguf_shape(), [src, t, rows, cols](uint8_t* dst, size_t nbytes) {
      if (t == DType::F32) {
        std::memcpy(dst, src, nbytes);
        return;
      }
      const TypeTraits& tr = traits(t);
      const size_t rb = row_bytes(t, cols);
      for (int64_t r = 0; r < rows; ++r) tr.from_float(src + r * cols, dst + static_cast<size_t>(r) * rb, cols);
    });
  }
}

void export_gguf(const std::string& path, const ModelMeta& meta, const ParamLayout& layout, const float* params,
                 ExportType type) {
  gguf::Writer w;
  write_model_metadata(w, meta, type);
  add_param_tensors(w, layout, params, type);
  w.write(path);
}

LoadedModel import_gguf(const std::string& path) {
  std::unique_ptr<gguf::File> file = gguf::File::open(path);
  const gguf::Metadata& md = file->metadata();
  LoadedModel out;
  ModelConfig& cfg = out.meta.cfg;
  cfg = ModelConfig::from_gguf(md);
  if (cfg.arch != Arch::qwen2 && cfg.arch != Arch::llama)
    fail("{}: the trainer supports qwen2 and llama models, not {}", path, arch_name(cfg.arch));
  if (file->find_tensor("rope_freqs.weight"))
    fail("{}: RoPE frequency factors (rope_freqs.weight) are not supported by the trainer", path);
  const gguf::TensorInfo* embd = file->find_tensor("token_embd.weight");
  if (!embd || embd->shape.size() != 2) fail("{}: missing or misshaped tensor 'token_embd.weight'", path);
  cfg.n_vocab = embd->shape[1];
  cfg.tied_output = file->find_tensor("output.weight") == nullptr;
  out.meta.vocab = Tokenizer::from_gguf(md)->vocab();
  if (static_cast<int64_t>(out.meta.vocab.tokens.size()) > cfg.n_vocab)
    fail("{}: the tokenizer has {} tokens but token_embd.weight only {} rows", path, out.meta.vocab.tokens.size(),
         cfg.n_vocab);
  // Trailing [PAD] tokens are re-created on export.
  VocabData& v = out.meta.vocab;
  while (!v.tokens.empty() && !v.types.empty() && v.types.back() == TokenType::unused &&
         v.tokens.back() == fmt::format("[PAD{}]", v.tokens.size() - 1)) {
    v.tokens.pop_back();
    v.types.pop_back();
  }

  const ParamLayout layout(cfg);
  out.params.assign(layout.size(), 0.0f);
  for (const ParamSpec& s : layout.specs()) {
    const gguf::TensorInfo* t = file->find_tensor(s.name);
    if (!t) fail("{}: missing tensor '{}'", path, s.name);
    if (t->shape != s.gguf_shape())
      fail("{}: tensor '{}' has shape [{}], expected [{}]", path, s.name, fmt::join(t->shape, ", "),
           fmt::join(s.gguf_shape(), ", "));
    const TypeTraits* tr = find_traits(t->type);
    if (!tr || !tr->to_float) fail("{}: tensor '{}' has type {}, which cannot be read", path, s.name, dtype_name(t->type));
    tr->to_float(t->data, out.params.data() + s.offset, s.numel());
  }
  for (const auto& t : file->tensors())
    if (!layout.find(t.name) && t.name.rfind("adam.", 0) != 0)
      fail("{}: tensor '{}' is not part of a {} model the trainer supports", path, t.name, arch_name(cfg.arch));
  return out;
}

}  // namespace r1::train
