// A Hugging Face model directory (config.json, *.safetensors [+ index], tokenizer.json,
// tokenizer_config.json, generation_config.json) seen as the registry's tensors of the
// GGUF model llama.cpp's converter would make of it. The one reader behind
// `r1 convert DIR` and `-m DIR` (run, chat, serve, inspect, ...).
//
// Contract of open(): everything is validated before it returns: config.json (hf_config.hpp),
// the tokenizer, every tensor the registry lists for the config present with the HF shape
// that tensor must have and a dtype r1 converts (F32, F16, BF16, F64, F8_E4M3 (with its
// 128 x 128 block scales), F8_E5M2), and no checkpoint tensor left over that the
// conversion would silently drop (except hf_tensor_ignored ones). Errors are r1::Error
// naming the directory, the HF tensor and the GGUF tensor it feeds.
//
// Tensor data: each registry tensor has a source type (the checkpoint's F32 / F16 / BF16
// when all its sources share it; F32 for FP8, F64 and mixed sources, which are converted
// exactly) and its bytes in that type in GGML layout come either straight from the
// safetensors mapping (direct: no layout change and suitably aligned) or are written into
// a caller's buffer (permuted llama q/k rows, stacked experts, the MLA kv_b split, FP8
// dequantization, Llama-3 rope_freqs).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf.hpp"
#include "format/safetensors.hpp"
#include "kernels/types.hpp"
#include "model/config.hpp"
#include "model/hf/hf_config.hpp"
#include "model/registry/hf_names.hpp"
#include "model/registry/registry.hpp"

namespace r1 {

class ThreadPool;

// Whether `path` is a directory holding a config.json (a Hugging Face model directory).
bool is_hf_model_dir(const std::string& path);

class HfCheckpoint {
 public:
  static std::unique_ptr<HfCheckpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // As ModelConfig::from_gguf reads metadata(), with n_vocab and tied_output set.
  const ModelConfig& config() const { return cfg_; }
  const TensorChoices& choices() const { return choices_; }
  const HfConfig& hf_config() const { return hf_; }
  // Every key a converted file holds except general.file_type / quantization_version.
  const gguf::Metadata& metadata() const { return metadata_; }
  const std::vector<TensorSpec>& tensors() const { return specs_; }
  const safetensors::Model& safetensors() const { return *st_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  DType source_type(size_t i) const { return plan_[i].type; }
  // Bytes of shape() x source_type(i).
  size_t source_bytes(size_t i) const;
  // Tensor i in source_type(i), GGML layout: into the mapping when direct(i), else
  // written into `scratch` (resized). Valid while this object (and scratch) live.
  const uint8_t* bytes(size_t i, std::vector<uint8_t>& scratch, ThreadPool& pool) const;
  bool direct(size_t i) const { return plan_[i].direct; }

 private:
  struct Plan {
    HfSource src;
    std::vector<const safetensors::TensorInfo*> parts;  // one per src.names entry
    DType type = DType::F32;
    bool direct = false;
  };
  HfCheckpoint() = default;
  void plan_tensors();
  // The bytes of source part p of tensor i in plan_[i].type (converted into `tmp` if needed).
  const uint8_t* part_bytes(const Plan& p, size_t part, std::vector<uint8_t>& tmp) const;

  std::string dir_;
  HfConfig hf_;
  ModelConfig cfg_;
  TensorChoices choices_;
  gguf::Metadata metadata_;
  std::unique_ptr<safetensors::Model> st_;
  std::vector<TensorSpec> specs_;
  std::vector<Plan> plan_;
  std::vector<std::string> warnings_;
};

// The file type a conversion keeps the checkpoint's precision in ("auto"): the embedding's
// BF16 / F16 / F32, and BF16 for FP8 checkpoints (as llama.cpp's converter).
FileType hf_source_file_type(const HfCheckpoint& ckpt);

// The checkpoint as a GGUF File in the source types (direct tensors point into the
// mappings; the others are materialised once). Model::load uses it for directories.
// materialize == false (r1 inspect: shapes and types only, at no memory cost): the tensors
// that need converting read as zeros.
std::unique_ptr<gguf::File> hf_checkpoint_as_gguf(std::shared_ptr<const HfCheckpoint> ckpt, ThreadPool& pool,
                                                  bool materialize = true);

}  // namespace r1
