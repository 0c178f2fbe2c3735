// Weights of the dense families (llama, qwen2, qwen3), bound by name to the
// tensors of a GGUF file. Matrices are views into the memory map (no copy);
// small vectors (norm weights, biases, rope factors) are copied to float.
// Shapes in comments are (rows, cols) with cols contiguous (GGML ne[0] = cols).
#pragma once
#include <set>
#include <string>
#include <vector>

#include "kernels/matmul.hpp"
#include "model/config.hpp"

namespace r1 {

namespace gguf {
class File;
}

struct LayerWeights {
  std::vector<float> attn_norm;  // (n_embd)
  WeightView wq;                 // (n_head * head_dim, n_embd)
  WeightView wk;                 // (n_head_kv * head_dim, n_embd)
  WeightView wv;                 // (n_head_kv * head_dim, n_embd)
  std::vector<float> bq;         // (n_head * head_dim)     qwen2 only
  std::vector<float> bk;         // (n_head_kv * head_dim)  qwen2 only
  std::vector<float> bv;         // (n_head_kv * head_dim)  qwen2 only
  std::vector<float> q_norm;     // (head_dim)              qwen3 only
  std::vector<float> k_norm;     // (head_dim)              qwen3 only
  WeightView wo;                 // (n_embd, n_head * head_dim)
  std::vector<float> bo;         // (n_embd)                optional (llama)
  std::vector<float> ffn_norm;   // (n_embd)
  WeightView w_gate;             // (n_ff, n_embd)
  WeightView w_up;               // (n_ff, n_embd)
  WeightView w_down;             // (n_embd, n_ff)
};

struct DenseWeights {
  WeightView tok_embd;              // (n_vocab, n_embd)
  std::vector<float> output_norm;   // (n_embd)
  WeightView output;                // (n_vocab, n_embd); = tok_embd when tied
  std::vector<float> rope_freqs;    // (rope_dim / 2) llama-3 frequency factors, optional
  std::vector<LayerWeights> layers; // n_layer
  size_t bytes = 0;                 // bytes of all bound tensors
};

// Binds every tensor the family needs and checks its shape and type. Throws
// r1::Error naming the file and tensor for a missing tensor, a wrong shape, or a
// type that cannot be computed with. Sets cfg.n_vocab from token_embd and
// cfg.tied_output.
DenseWeights bind_dense_weights(const gguf::File& file, ModelConfig& cfg);

}  // namespace r1
