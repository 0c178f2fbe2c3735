#include "train/model_io.hpp"

#include <cstring>
#include <fmt/format.h>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "kernels/types.hpp"

namespace r1::train {

FileType parse_export_type(const std::string& s) {
  FileType t;
  if (!parse_file_type(s, &t)) fail("unknown export type '{}' (f32, f16, bf16, q8_0, q4_0, q4_k_m)", s);
  return t;
}

void write_model_metadata(gguf::Writer& w, const ModelMeta& meta, FileType type) {
  ModelConfig c = meta.cfg;
  if (c.name.empty()) c.name = "r1-trained";
  write_config_metadata(w, c);
  w.set("general.file_type", gguf::Value::from_u32(file_type_id(type)));
  write_vocab_metadata(w, meta.vocab, c.n_vocab);
}

void add_param_tensors(gguf::Writer& w, const ParamLayout& layout, const float* params, FileType type,
                       const std::string& prefix) {
  for (const ParamSpec& s : layout.specs()) {
    const float* src = params + s.offset;
    const DType t = quant_type(s, type, layout.n_layer());
    const int64_t rows = s.rows(), cols = s.shape[0];
    w.add_tensor(prefix + s.name, t, s.shape, [src, t, rows, cols](uint8_t* dst, size_t nbytes) {
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
                 FileType type) {
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
  try {
    cfg = ModelConfig::from_gguf(md);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  if (cfg.arch != Arch::qwen2 && cfg.arch != Arch::llama && cfg.arch != Arch::qwen3)
    fail("{}: the trainer supports qwen2, qwen3 and llama models, not {}", path, arch_name(cfg.arch));
  if (file->find_tensor(tensor_name(TensorKind::rope_freqs)))
    fail("{}: RoPE frequency factors ({}) are not supported by the trainer", path, tensor_name(TensorKind::rope_freqs));
  const gguf::TensorInfo* embd = file->find_tensor(tensor_name(TensorKind::token_embd));
  if (!embd || embd->shape.size() != 2)
    fail("{}: missing or misshaped tensor '{}'", path, tensor_name(TensorKind::token_embd));
  cfg.n_vocab = embd->shape[1];
  cfg.tied_output = file->find_tensor(tensor_name(TensorKind::output)) == nullptr;
  out.meta.vocab = Tokenizer::from_gguf(md)->vocab();
  if (static_cast<int64_t>(out.meta.vocab.tokens.size()) > cfg.n_vocab)
    fail("{}: the tokenizer has {} tokens but the embedding only {} rows", path, out.meta.vocab.tokens.size(),
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
    if (t->shape != s.shape)
      fail("{}: tensor '{}' has shape [{}], expected [{}]", path, s.name, fmt::join(t->shape, ", "),
           fmt::join(s.shape, ", "));
    const TypeTraits* tr = find_traits(t->type);
    if (!tr || !tr->to_float) fail("{}: tensor '{}' has type {}, which cannot be read", path, s.name, dtype_name(t->type));
    tr->to_float(t->data, out.params.data() + s.offset, s.numel());
  }
  for (const auto& t : file->tensors())
    if (!layout.find(t.name) && t.name.rfind(kOptimizerPrefix, 0) != 0)
      fail("{}: tensor '{}' is not part of a {} model the trainer supports", path, t.name, arch_name(cfg.arch));
  return out;
}

}  // namespace r1::train
