// `r1 convert`: a Hugging Face checkpoint written as a GGUF file with the tensor names,
// layouts and metadata llama.cpp's convert_hf_to_gguf.py writes (the tokenizer, chat
// template and sampling defaults embedded).
//
// Contract: streams one tensor at a time (memory: about one tensor in its source type
// plus its output), converts rows on `threads` threads (the bytes do not depend on the
// thread count), and writes atomically (temporary file, fsync, rename): after an error
// `out` is as it was. F32 output of F32 / F16 / BF16 / FP8 sources is exact.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/hf/hf_checkpoint.hpp"

namespace r1 {

struct ConvertOptions {
  std::optional<FileType> type;             // nullopt: hf_source_file_type (the checkpoint's precision)
  std::vector<TypeOverride> tensor_types;   // --tensor-type PATTERN=TYPE
  int threads = 0;
  // Called before each tensor is written: index, count, spec, stored type.
  std::function<void(size_t, size_t, const TensorSpec&, DType)> progress;
};

struct ConvertSummary {
  FileType type;
  size_t tensors = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
};

ConvertSummary convert_hf_checkpoint(const HfCheckpoint& ckpt, const std::string& out, const ConvertOptions& opts);

}  // namespace r1
