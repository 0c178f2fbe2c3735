// The deepseek2 family (DeepSeek-V2, V2-Lite, V3, R1): multi-head latent attention
// with a latent-only KV cache (absorbed form for prefill and decode, as llama.cpp's
// MLA layout), DeepSeekMoE feed-forward (leading dense blocks, shared experts, routed
// experts chosen by a softmax or biased-sigmoid router with group limits) and YaRN
// RoPE. Only the experts a token selected are computed; during prefill the tokens
// that chose the same expert are batched into one product with its weights.
#pragma once
#include <memory>

#include "base/thread_pool.hpp"
#include "format/gguf.hpp"
#include "model/deepseek2_attention.hpp"
#include "model/deepseek2_cache.hpp"
#include "model/deepseek2_config.hpp"
#include "model/deepseek2_matmul.hpp"
#include "model/deepseek2_router.hpp"
#include "model/deepseek2_weights.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

class DeepSeek2Model final : public Model {
 public:
  // Binds the weights, loads the tokenizer and checks that the weights fit in the
  // available memory (unless opts.allow_paging). Throws r1::Error naming the file.
  DeepSeek2Model(std::unique_ptr<gguf::File> file, DeepSeek2Config cfg, const ModelOptions& opts);

  const ModelConfig& config() const override { return mcfg_; }
  const DeepSeek2Config& ds_config() const { return cfg_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  const gguf::File& file() const override { return *file_; }
  ThreadPool& pool() override { return pool_; }
  std::unique_ptr<KvCache> new_cache(int64_t n_ctx) const override;
  void forward(std::span<const int32_t> tokens, KvCache& kv, std::vector<float>& logits,
               bool all_logits) override;
  size_t weight_bytes() const override { return w_.bytes; }

  // Tokens processed per internal pass (bounds the scratch memory of long prompts).
  static constexpr int64_t kMaxChunk = 512;
  // Batches of at least this many tokens use llama.cpp's tiled attention order.
  static constexpr int64_t kTiledRows = 64;

 private:
  // Activations of one chunk of n <= kMaxChunk tokens, (rows, width) row-major.
  struct Scratch {
    std::vector<float> x, xn, tmp;        // (n, n_embd)
    std::vector<float> qa;                // (n, q_lora_rank)
    std::vector<float> q;                 // (n, n_head * head_k)
    std::vector<float> kva;               // (n, kv_lora_rank + qk_rope)
    std::vector<float> rope;              // (n, qk_rope) cos/sin tables
    std::vector<float> qcat;              // (n, n_head, kv_lora_rank + qk_rope)
    std::vector<float> lat;               // (n, n_head, kv_lora_rank)
    std::vector<float> latk;              // (n, n_head, kv_lora_rank + qk_rope): tiled attention output
    std::vector<float> att;               // (n, n_head * v_head)
    std::vector<float> gate, up;          // (n, n_ff) dense; (n * n_used, n_ff_exp) routed
    std::vector<float> sgate, sup, sout;  // shared experts: (n, n_ff_exp * n_shared), (n, n_embd)
    std::vector<float> router;            // (n, n_expert) logits
    std::vector<int32_t> ids;             // (n, n_used) selected experts, best first
    std::vector<float> wts;               // (n, n_used) their weights
    std::vector<int64_t> slot_row;        // (n, n_used) row of (token, slot) in the expert-sorted buffers
    std::vector<float> xg, yd;            // (n * n_used, n_embd) gathered inputs / expert outputs
    std::vector<float> route_tmp;
    int64_t capacity = 0;
  };
  void ensure_scratch(int64_t n);
  void forward_chunk(const int32_t* tokens, int64_t n, MlaKvCache& kv);
  void attention_block(int64_t il, int64_t n, int64_t pos0, MlaKvCache& kv);
  void ffn_block(int64_t il, int64_t n);  // deepseek2_moe.cpp
  void moe(const Ds2LayerWeights& L, int64_t n);

  std::unique_ptr<gguf::File> file_;
  DeepSeek2Config cfg_;
  ModelConfig mcfg_;
  Ds2Weights w_;
  RouterParams router_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ThreadPool pool_;
  Scratch s_;
  MlaScratch as_;
};

}  // namespace r1
