// The trainable dense transformer (qwen2 / qwen3 / llama): parameters and gradients in
// float32 buffers that share one ParamLayout, a forward pass that saves the
// activations every backward op needs, and the backward pass.
//
// The forward pass computes the same function as the inference engine's
// dense recipe (model/recipes/dense.cpp): embedding, per layer RMSNorm -> Q/K/V
// (+bias for qwen2) -> per-head q/k RMSNorm (qwen3) -> RoPE -> causal GQA attention ->
// output projection -> residual, RMSNorm -> SwiGLU FFN -> residual; final RMSNorm and
// output head.
//
// The loss is left to the caller: forward() returns log p(target) for every row,
// backward() takes d(loss)/d(log p) per row. Cross-entropy is dlogp = -weight;
// GRPO passes its clipped-ratio and KL terms the same way.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "model/config.hpp"
#include "model/blocks/attention.hpp"
#include "model/blocks/linear.hpp"
#include "model/blocks/rope.hpp"
#include "model/ops.hpp"
#include "train/params.hpp"

namespace r1 {
class ThreadPool;
}

namespace r1::train {

// Sequences packed back to back. Row t predicts targets[t] from tokens[..t] of its
// own sequence.
struct Batch {
  std::vector<int32_t> tokens;     // (n)
  std::vector<int32_t> targets;    // (n) next-token ids, -1 = no prediction here
  std::vector<int64_t> seq_start{0};  // (n_seq + 1)

  int64_t n() const { return static_cast<int64_t>(tokens.size()); }
  int64_t n_seq() const { return static_cast<int64_t>(seq_start.size()) - 1; }
  // Appends one sequence: inputs ids[0..len-2], targets ids[1..len-1], where
  // predict[i] (size len, or empty = all) says whether ids[i] is a target.
  void add_sequence(std::span<const int32_t> ids, std::span<const uint8_t> predict = {});
};

// T = float for training; T = double for the whole-model gradient test.
template <class T>
class TransformerT {
 public:
  // Parameters are zero until init_params() or a load fills params(). The pool is
  // borrowed and must outlive the Transformer.
  TransformerT(const ModelConfig& cfg, ThreadPool& pool);

  const ModelConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  std::vector<T>& params() { return params_; }
  const std::vector<T>& params() const { return params_; }
  std::vector<T>& grads() { return grads_; }
  void zero_grad();

  // Runs the batch and returns log p(targets[t]) for every row (0 where there is no
  // target). Keeps the activations (and a pointer to b, which must outlive the
  // matching backward()) for backward(). Throws r1::Error for a token id
  // out of range or a sequence longer than the context length.
  const std::vector<T>& forward(const Batch& b);
  // Accumulates d(loss)/d(params) into grads() given dlogp[t] = d(loss)/d(logp[t])
  // for the batch of the last forward().
  void backward(std::span<const T> dlogp);

  // Bytes of activations held for the last batch.
  size_t activation_bytes() const;

 private:
  struct LayerActs {
    std::vector<T> x_in;          // (n, E) residual stream entering the layer
    std::vector<T> xn1, rstd1;    // (n, E), (n) attention RMSNorm
    std::vector<T> q, k, v;       // (n, qd), (n, kvd), (n, kvd) after bias (and q/k norm) and RoPE
    std::vector<T> q_pre, k_pre;  // qwen3: q and k before the per-head norm
    std::vector<T> rstd_q, rstd_k;// qwen3: (n * n_head), (n * n_head_kv)
    std::vector<T> probs;         // attention softmax rows
    std::vector<T> att;           // (n, qd) attention output
    std::vector<T> x_mid;         // (n, E) residual after attention
    std::vector<T> xn2, rstd2;    // (n, E), (n) FFN RMSNorm
    std::vector<T> gate, up, h;   // (n, F) each; h = silu(gate) * up
  };

  ModelConfig cfg_;
  ParamLayout layout_;
  ThreadPool& pool_;
  RopeTable rope_;
  std::vector<T> params_, grads_;

  // Saved by forward() for backward().
  const Batch* batch_ = nullptr;
  std::vector<int32_t> pos_;       // (n)
  std::vector<LayerActs> acts_;    // (n_layer)
  std::vector<T> x_out_;       // (n, E) residual after the last layer
  std::vector<T> xnf_, rstdf_; // final norm
  std::vector<T> probs_;       // (n, V) softmax; reused for dlogits in backward
  std::vector<T> logp_;        // (n)
  // Backward buffers, kept between calls.
  MatmulScratch mm_;
  std::vector<T> dx_, dxn_, dh_, dgate_, dup_, datt_, dq_, dk_, dv_, dq_pre_, dk_pre_;
  std::vector<T> tmp_;         // forward scratch (n, E)
};

using Transformer = TransformerT<float>;

}  // namespace r1::train
