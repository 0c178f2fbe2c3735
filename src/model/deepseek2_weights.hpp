// Weights of the deepseek2 family bound by name to a GGUF file (llama.cpp's tensor
// names and shapes, src/models/deepseek2.cpp). Matrices are views into the memory
// map; norm weights and the router bias are copied to float.
// Shapes in comments are (rows, cols), cols contiguous (GGML ne[0] = cols); 3-D
// tensors hold one such matrix per head or expert.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "kernels/matmul.hpp"
#include "model/deepseek2_config.hpp"

namespace r1 {

class ThreadPool;
namespace gguf {
class File;
}

// One matrix per expert (or head) inside a 3-D tensor: matrix i starts
// i * stride bytes after w.data and has w.rows rows.
struct StackedWeight {
  WeightView w;
  size_t stride = 0;
  WeightView at(int64_t i) const {
    WeightView v = w;
    v.data = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(i) * stride;
    return v;
  }
};

struct Ds2LayerWeights {
  std::vector<float> attn_norm;   // (n_embd)
  WeightView wq;                  // (n_head * head_k, n_embd)          q_lora_rank == 0
  WeightView wq_a;                // (q_lora_rank, n_embd)              q_lora_rank > 0
  std::vector<float> q_a_norm;    // (q_lora_rank)
  WeightView wq_b;                // (n_head * head_k, q_lora_rank)
  WeightView wkv_a;               // (kv_lora_rank + qk_rope, n_embd)   latent, then rope key
  std::vector<float> kv_a_norm;   // (kv_lora_rank)
  StackedWeight wk_b;             // n_head x (kv_lora_rank, qk_nope)   absorbs q_nope into the latent
  StackedWeight wv_b;             // n_head x (v_head, kv_lora_rank)    latent -> value
  WeightView wo;                  // (n_embd, n_head * v_head)
  std::vector<float> ffn_norm;    // (n_embd)
  // leading dense blocks
  WeightView ffn_gate, ffn_up;    // (n_ff, n_embd)
  WeightView ffn_down;            // (n_embd, n_ff)
  // MoE blocks
  WeightView gate_inp;            // (n_expert, n_embd)  router
  std::vector<float> exp_probs_b; // (n_expert)          selection bias, optional (V3)
  StackedWeight gate_exps;        // n_expert x (n_ff_exp, n_embd)  (also a view into ffn_gate_up_exps)
  StackedWeight up_exps;          // n_expert x (n_ff_exp, n_embd)
  StackedWeight down_exps;        // n_expert x (n_embd, n_ff_exp)
  WeightView gate_shexp, up_shexp;  // (n_ff_exp * n_expert_shared, n_embd); absent when no shared expert
  WeightView down_shexp;            // (n_embd, n_ff_exp * n_expert_shared)
};

struct Ds2Weights {
  WeightView tok_embd;                 // (n_vocab, n_embd)
  std::vector<float> output_norm;      // (n_embd)
  WeightView output;                   // (n_vocab, n_embd); = tok_embd when tied
  std::vector<Ds2LayerWeights> layers; // n_layer (multi-token-prediction layers are not bound)
  size_t bytes = 0;                    // bytes of all bound tensors
};

// Binds every tensor the forward pass needs and checks its shape and type. Throws
// r1::Error naming the file and tensor. Sets cfg.n_vocab. Tensors of the trailing
// nextn (MTP) layers are skipped; other unknown tensors are reported as warnings.
Ds2Weights bind_deepseek2_weights(const gguf::File& file, DeepSeek2Config& cfg);

// Packs, in place, the matrices llama.cpp repacks on this CPU (kernels/repack.hpp), as
// the dense models do: the 2-D Q4_0/Q4_K weights of plain products and the routed
// experts (when each expert's rows are a multiple of 8); never the 3-D attn_k_b /
// attn_v_b (llama.cpp keeps those row-major) nor the embedding. Same results, one
// contiguous weight stream per thread. Touches (copies on write) every packed page, so
// it is skipped when the model runs paged from the file. Returns the bytes packed.
size_t pack_deepseek2_weights(Ds2Weights& w, const DeepSeek2Config& cfg, ThreadPool& pool);

}  // namespace r1
