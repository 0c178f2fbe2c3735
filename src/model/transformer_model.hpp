// The one Model implementation: a family recipe (recipes/) over registry-bound, planned
// weights, and everything around the layers that is the same for every family.
//
// forward_batch(): all sequences are validated before any cache changes; their tokens are
// laid end to end and cut into passes of at most kMaxPassRows rows (a sequence may span
// two passes; its later rows then attend to the cache the earlier pass filled). Per pass:
// embedding rows, each row's RoPE table (position in its own sequence), the recipe's
// layers, then the final RMSNorm and output projection for the rows that need logits.
// Calls from several threads are serialised (one pass at a time over the shared scratch),
// so sessions on different threads may share one model.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "base/thread_pool.hpp"
#include "format/gguf.hpp"
#include "model/kv_cache.hpp"
#include "model/model.hpp"
#include "model/recipes/recipe.hpp"
#include "model/weight_store.hpp"
#include "model/weights.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

class TransformerModel final : public Model {
 public:
  // Binds, plans and checks the weights of `file` (throws r1::Error naming the file).
  // `tokenizer`: null = the file's (GGUF metadata); a Hugging Face directory passes its
  // tokenizer.json's, which keeps what GGUF cannot express (the NFC normalizer).
  TransformerModel(std::unique_ptr<gguf::File> file, ModelConfig cfg, const ModelOptions& opts,
                   std::unique_ptr<Tokenizer> tokenizer = nullptr);
  // Over caller-held weights (Model::over_floats).
  TransformerModel(ModelConfig cfg, std::unique_ptr<Tokenizer> tokenizer, ModelWeights weights,
                   const ModelOptions& opts);

  const ModelConfig& config() const override { return cfg_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  const gguf::File* file() const override { return file_.get(); }
  ThreadPool& pool() override { return pool_; }
  std::unique_ptr<KvCache> new_cache(int64_t n_ctx) const override;
  void forward(std::span<const int32_t> tokens, KvCache& kv, std::vector<float>& logits,
               bool all_logits) override;
  void forward_batch(std::span<const SeqBatch> seqs, std::vector<float>& logits) override;
  size_t weight_bytes() const override { return weights_.bytes(); }

  // Rows per internal pass (bounds the activation memory of long prompts, as llama.cpp's ubatch).
  static constexpr int64_t kMaxPassRows = 512;

 private:
  void finish_load();
  void run_pass(int64_t n, std::span<const Segment> segs, const std::vector<int32_t>& ids,
                const std::vector<uint8_t>& wants_logits, float* logits_out, int64_t* n_out);

  std::unique_ptr<gguf::File> file_;
  ModelConfig cfg_;
  ThreadPool pool_;
  ModelWeights weights_;
  WeightStore store_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<Recipe> recipe_;
  WeightView embd_, output_;
  const float* output_norm_ = nullptr;
  const float* rope_freqs_ = nullptr;
  std::vector<KvRowShape> kv_layout_;  // kv_layout(cfg_): the caches this model makes and accepts
  std::vector<float> x_, xn_, tmp_, rope_;  // pass scratch
  std::mutex pass_mu_;                      // held by forward_batch
};

}  // namespace r1
