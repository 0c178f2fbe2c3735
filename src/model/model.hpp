// A loaded model: weights bound to a family's forward pass, plus its tokenizer.
//
// Contract of forward(): `tokens` are appended to `kv` at positions
// kv.n_past() .. kv.n_past()+n-1 (batched prefill when n > 1). Logits (n_vocab
// floats per row) are written for the last token only, or for every token when
// all_logits is true. Throws r1::Error if the tokens would not fit in the cache or
// an id is out of range; the cache is unchanged in that case.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/config.hpp"

namespace r1 {

class Tokenizer;
class ThreadPool;
struct TensorSpec;
namespace gguf {
class File;
}

// Per-sequence attention cache; the models' implementation is LayerKvCache (kv_cache.hpp).
class KvCache {
 public:
  virtual ~KvCache() = default;
  virtual int64_t n_ctx() const = 0;
  virtual int64_t n_past() const = 0;
  // Forget everything from position `pos` on (pos <= n_past). Used to rewind
  // (reuse a shared prompt prefix, drop a sampled-but-rejected token).
  virtual void truncate(int64_t pos) = 0;
  virtual size_t bytes() const = 0;
  // The cached keys/values of positions [0, n) as one blob (n <= n_past), and back:
  // restore() replaces the contents with a blob save() made for the same model and
  // sets n_past = n. It throws r1::Error (changing nothing) when the blob's size is not
  // n positions of this cache or n does not fit the context.
  virtual std::vector<uint8_t> save(int64_t n) const = 0;
  virtual void restore(std::span<const uint8_t> blob, int64_t n) = 0;
  virtual size_t bytes_per_token() const = 0;
};

// One sequence's share of a batched forward pass (continuous batching): its new
// tokens, its own cache, and whether it needs logits for every token or the last.
struct SeqBatch {
  std::span<const int32_t> tokens;
  KvCache* kv = nullptr;
  bool all_logits = false;
};

struct ModelOptions {
  int n_threads = 0;   // 0 = physical cores
  // Compute from the memory-mapped file (no resident copy, no repacking), so that weights
  // larger than the available memory are paged in from disk as needed (slow). Without
  // it, load() refuses a model whose weights exceed the available memory.
  bool allow_paging = false;
};

class Model {
 public:
  // Opens a GGUF file and binds its weights. Throws r1::Error naming the file and
  // the problem (unknown architecture, missing tensor, wrong shape or type, ...).
  static std::unique_ptr<Model> load(const std::string& path, const ModelOptions& opts = {});
  // A model over float32 weights the caller holds (the trainer's live parameters): tensor
  // i of `specs` (the registry's model_tensors(cfg)) at base + offsets[i]. Nothing is
  // copied: `base` must outlive the model, and changes to it are seen by the next forward.
  static std::unique_ptr<Model> over_floats(const ModelConfig& cfg, std::unique_ptr<Tokenizer> tokenizer,
                                            const std::vector<TensorSpec>& specs, const std::vector<size_t>& offsets,
                                            const float* base, const ModelOptions& opts = {});
  virtual ~Model() = default;

  virtual const ModelConfig& config() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  virtual const gguf::File* file() const = 0;  // null for a model over caller-held floats
  virtual ThreadPool& pool() = 0;

  // n_ctx <= 0 means the training context length. Throws if n_ctx is too large to allocate.
  virtual std::unique_ptr<KvCache> new_cache(int64_t n_ctx) const = 0;
  virtual void forward(std::span<const int32_t> tokens, KvCache& kv, std::vector<float>& logits,
                       bool all_logits = false) = 0;

  // Several sequences in one pass over the weights: matrix products run on all their
  // tokens together, attention per sequence against its own cache. Logits rows are
  // concatenated in `seqs` order (n_tokens rows for all_logits, else 1 row per
  // sequence). Results equal separate forward() calls up to float summation order.
  // All sequences are validated before any cache changes; each cache must appear once.
  // The default runs the sequences one after the other through forward().
  virtual void forward_batch(std::span<const SeqBatch> seqs, std::vector<float>& logits);

  // Bytes of weights, and of one token's K+V across layers at F16 (kv_cache.hpp's formula).
  virtual size_t weight_bytes() const = 0;
  size_t kv_bytes_per_token() const;
};

}  // namespace r1
