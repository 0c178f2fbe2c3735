#include "model/model.hpp"

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "model/deepseek2_model.hpp"
#include "model/dense_model.hpp"

namespace r1 {

std::unique_ptr<Model> Model::load(const std::string& path, const ModelOptions& opts) {
  auto file = gguf::File::open(path);
  std::string arch;
  try {
    arch = file->metadata().get_string_or("general.architecture", "");
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  if (arch == "deepseek2") {
    DeepSeek2Config cfg;
    try {
      cfg = DeepSeek2Config::from_gguf(file->metadata());
    } catch (const Error& e) {
      fail("{}: {}", path, e.what());
    }
    return std::make_unique<DeepSeek2Model>(std::move(file), std::move(cfg), opts);
  }
  if (!arch.empty() && arch != "llama" && arch != "qwen2" && arch != "qwen3")
    fail("{}: unsupported architecture '{}' (supported: llama, qwen2, qwen3, deepseek2)", path, arch);
  ModelConfig cfg;
  try {
    cfg = ModelConfig::from_gguf(file->metadata());
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  return std::make_unique<DenseModel>(std::move(file), std::move(cfg), opts);
}

void Model::forward_batch(std::span<const SeqBatch> seqs, std::vector<float>& logits) {
  for (size_t i = 0; i < seqs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (seqs[i].kv == seqs[j].kv) fail("forward: the same KV cache appears twice in one batch");
  logits.clear();
  std::vector<float> part;
  for (const SeqBatch& sb : seqs) {
    if (!sb.kv) fail("forward: a sequence has no KV cache");
    forward(sb.tokens, *sb.kv, part, sb.all_logits);
    logits.insert(logits.end(), part.begin(), part.end());
  }
}

size_t Model::kv_bytes_per_token() const {
  const ModelConfig& c = config();
  if (c.arch == Arch::deepseek2)  // MLA: the latent + rope key only
    return static_cast<size_t>(static_cast<const DeepSeek2Model&>(*this).ds_config().kv_bytes_per_token());
  return static_cast<size_t>(c.n_layer * c.n_head_kv * c.head_dim) * 2 * sizeof(uint16_t);
}

}  // namespace r1
