// Trained models in and out of GGUF files.
//
// export_gguf() writes a complete model file (architecture metadata, tokenizer,
// chat template, weights) that the inference engine (Model::load) and llama.cpp
// load; norms and biases stay F32, matrices take the file type's rule
// (registry quant_type). import_gguf() reads such a file (any file of the qwen2 / qwen3 /
// llama families with supported tensor types) back into float32 parameters. Both walk
// the ParamLayout (the registry's table).
#pragma once
#include <string>
#include <vector>

#include "format/gguf_writer.hpp"
#include "model/config.hpp"
#include "model/registry/registry.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/params.hpp"

namespace r1::train {

// Tensors whose names start with this hold optimizer state (checkpoint.hpp), not weights.
inline constexpr const char* kOptimizerPrefix = "adam.";

// Everything besides the weights that a model file carries.
struct ModelMeta {
  ModelConfig cfg;   // cfg.n_vocab >= vocab.tokens.size(); extra rows become unused [PAD] tokens
  VocabData vocab;   // tokens, merges, specials and the chat template
};

// "f32" | "f16" | "bf16" | "q8_0" | "q4_0" | "q4_k_m"; throws r1::Error for anything else.
FileType parse_export_type(const std::string& s);

// Adds general.*, <arch>.* and tokenizer.* metadata to w.
void write_model_metadata(gguf::Writer& w, const ModelMeta& meta, FileType type);
// Adds every parameter tensor of `layout` from `params` to w, each stored as
// quant_type(spec, type) (vectors F32; short rows fall back as llama-quantize does).
void add_param_tensors(gguf::Writer& w, const ParamLayout& layout, const float* params, FileType type,
                       const std::string& prefix = "");

// Writes the model atomically (temp file + rename). Throws r1::Error.
void export_gguf(const std::string& path, const ModelMeta& meta, const ParamLayout& layout, const float* params,
                 FileType type);

struct LoadedModel {
  ModelMeta meta;
  std::vector<float> params;  // ParamLayout(meta.cfg).size() floats
};
// Reads a qwen2/llama GGUF model into float32 parameters. Throws r1::Error naming
// the file and problem (other architecture, missing or misshaped tensor, RoPE
// frequency factors or scaling the trainer does not model).
LoadedModel import_gguf(const std::string& path);

}  // namespace r1::train
