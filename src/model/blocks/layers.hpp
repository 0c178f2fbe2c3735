// The layer blocks every family is composed of (recipes/*.cpp). Each binds its weights for
// all layers from the registry-bound ModelWeights at construction, keeps its own scratch,
// and has one contract: forward(il, pass) adds the block's output for layer il to the
// residual stream of every row of the pass (x += block(x)), batched over all rows, with
// attention per sequence against its own cache. Products go through kernels/matmul_ops.hpp
// in llama.cpp's op orders; norms are fused into the products' activation conversion
// (matmul_multi's row prologue), SwiGLU into the gate/up products (matmul_swiglu).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/matmul_ops.hpp"
#include "model/blocks/mla.hpp"
#include "model/blocks/pass.hpp"
#include "model/blocks/router.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"

namespace r1 {

// Grouped-query attention (llama, qwen2, qwen3): RMSNorm -> Q/K/V (+ biases, qwen2) ->
// per-head q/k RMSNorm (qwen3) -> RoPE -> F16 cache -> causal attention -> output
// projection (+ bias).
class GqaAttention {
 public:
  GqaAttention(const ModelConfig& c, const ModelWeights& w);
  void forward(int64_t il, const Pass& p);

 private:
  struct Layer {
    const float* norm;
    WeightView wq, wk, wv, wo;
    const float *bq, *bk, *bv, *bo;    // null when absent
    const float *q_norm, *k_norm;      // qwen3, else null
  };
  const ModelConfig& c_;
  std::vector<Layer> layers_;
  std::vector<float> q_, k_, v_, att_;
};

// Multi-head latent attention in absorbed form (deepseek2): RMSNorm -> q (through the q
// LoRA when present) and the compressed kv + rope key -> RoPE on q_pe and the shared key
// -> latent cache row -> q_nope absorbed through attn_k_b -> attention over the latent
// cache -> attn_v_b per head -> output projection.
class MlaAttention {
 public:
  MlaAttention(const ModelConfig& c, const ModelWeights& w);
  void forward(int64_t il, const Pass& p);
  // Segments of at least this many rows use llama.cpp's tiled attention order.
  static constexpr int64_t kTiledRows = 64;

 private:
  struct Layer {
    const float* norm;
    WeightView wq, wq_a, wq_b, wkv_a, wo;  // wq when q_lora_rank == 0, else wq_a / wq_b
    const float *q_a_norm, *kv_a_norm;
    StackedWeight wk_b, wv_b;              // per head
  };
  const ModelConfig& c_;
  std::vector<Layer> layers_;
  std::vector<float> qa_, q_, kva_, qcat_, lat_, latk_, att_;
  std::vector<MatJob> jobs_;
  MlaScratch mla_;
};

// SwiGLU feed-forward: RMSNorm -> silu(gate x) * (up x) -> down. The kinds name its
// tensors (the dense families' ffn_*; deepseek2's leading dense blocks).
class SwiGluFfn {
 public:
  SwiGluFfn(const ModelConfig& c, const ModelWeights& w);
  void forward(int64_t il, const Pass& p);

 private:
  struct Layer {
    const float* norm;
    WeightView gate, up, down;
  };
  const ModelConfig& c_;
  std::vector<Layer> layers_;  // (n_layer) entries; empty views where the layer has none
  std::vector<float> gate_, up_;
};

// DeepSeekMoE feed-forward: RMSNorm -> router (softmax or biased sigmoid, group limits)
// -> the selected routed experts, tokens batched per expert -> the shared experts ->
// x += sum_k w_k y_k + shared, in llama.cpp's order (best expert first).
class MoeFfn {
 public:
  MoeFfn(const ModelConfig& c, const ModelWeights& w);
  void forward(int64_t il, const Pass& p);

 private:
  struct Layer {
    const float* norm;
    WeightView router;
    const float* probs_bias;           // exp_probs_b or null
    StackedWeight gate, up, down;      // routed experts
    WeightView gate_sh, up_sh, down_sh;// shared experts (empty when none)
  };
  const ModelConfig& c_;
  RouterParams router_;
  std::vector<Layer> layers_;  // (n_layer); empty for the leading dense layers
  std::vector<float> logits_, wts_, gate_, up_, xg_, yd_, sgate_, sup_, sout_, route_tmp_;
  std::vector<int32_t> ids_;
  std::vector<int64_t> slot_row_;
  std::vector<MatJob> jobs_;
};

}  // namespace r1
