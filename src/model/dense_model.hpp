// The dense decoder-only families: llama (incl. Llama-3 rope_freqs), qwen2 (q/k/v
// biases, NeoX RoPE) and qwen3 (per-head q/k RMSNorm, NeoX RoPE). One forward
// pass serves all three; the differences are data in ModelConfig / DenseWeights.
#pragma once
#include <memory>

#include "base/thread_pool.hpp"
#include "format/gguf.hpp"
#include "model/model.hpp"
#include "model/weight_store.hpp"
#include "model/weights.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

class DenseModel final : public Model {
 public:
  DenseModel(std::unique_ptr<gguf::File> file, ModelConfig cfg, const ModelOptions& opts);

  const ModelConfig& config() const override { return cfg_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  const gguf::File& file() const override { return *file_; }
  ThreadPool& pool() override { return pool_; }
  std::unique_ptr<KvCache> new_cache(int64_t n_ctx) const override;
  void forward(std::span<const int32_t> tokens, KvCache& kv, std::vector<float>& logits,
               bool all_logits) override;
  void forward_batch(std::span<const SeqBatch> seqs, std::vector<float>& logits) override;
  size_t weight_bytes() const override { return w_.bytes; }

 private:
  // Activations for a batch of n tokens; grown on demand, reused across calls.
  struct Scratch {
    std::vector<float> x, xn, q, k, v, att, tmp, gate, up;  // (n, width) row-major
    int64_t capacity = 0;
  };
  void ensure_scratch(int64_t n);
  // A run of consecutive rows of the batch that belong to one sequence.
  struct Segment {
    int64_t row0, n;    // rows [row0, row0 + n) of the activations
    int64_t pos0;       // position of the first of them in the sequence
    class DenseKvCache* kv;
  };
  void layer_forward(int64_t il, int64_t n, const std::vector<Segment>& segs);

  std::unique_ptr<gguf::File> file_;
  ModelConfig cfg_;
  DenseWeights w_;
  WeightStore store_;  // resident (packed) copy of w_'s matrices; w_ points into it
  std::unique_ptr<Tokenizer> tokenizer_;
  ThreadPool pool_;
  Scratch s_;
};

}  // namespace r1
