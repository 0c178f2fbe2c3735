#include "model/model.hpp"

#include <filesystem>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "base/log.hpp"
#include "base/thread_pool.hpp"
#include "model/hf/hf_checkpoint.hpp"
#include "model/kv_cache.hpp"
#include "model/transformer_model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

std::unique_ptr<Model> Model::load(const std::string& path, const ModelOptions& opts) {
  std::unique_ptr<gguf::File> file;
  std::unique_ptr<Tokenizer> tokenizer;
  if (is_hf_model_dir(path)) {  // a Hugging Face checkpoint, read as its GGUF conversion
    std::shared_ptr<const HfCheckpoint> ckpt = HfCheckpoint::open(path);
    for (const std::string& w : ckpt->warnings()) log(LogLevel::warn, "{}: {}", path, w);
    ThreadPool pool(opts.n_threads);
    file = hf_checkpoint_as_gguf(ckpt, pool);
    // tokenizer.json as transformers reads it (its normalizer too), not the GGUF rendering
    tokenizer = Tokenizer::from_hf_json((std::filesystem::path(path) / "tokenizer.json").string());
  } else {
    file = gguf::File::open(path);
  }
  ModelConfig cfg;
  try {
    cfg = ModelConfig::from_gguf(file->metadata());
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  return std::make_unique<TransformerModel>(std::move(file), std::move(cfg), opts, std::move(tokenizer));
}

std::unique_ptr<Model> Model::over_floats(const ModelConfig& cfg, std::unique_ptr<Tokenizer> tokenizer,
                                          const std::vector<TensorSpec>& specs, const std::vector<size_t>& offsets,
                                          const float* base, const ModelOptions& opts) {
  return std::make_unique<TransformerModel>(cfg, std::move(tokenizer), bind_float_weights(specs, offsets, base), opts);
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

size_t Model::kv_bytes_per_token() const { return static_cast<size_t>(r1::kv_bytes_per_token(config())); }

}  // namespace r1
