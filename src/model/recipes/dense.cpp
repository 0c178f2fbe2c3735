// The dense decoder-only families: llama (incl. Llama-3 rope_freqs), qwen2 (q/k/v biases,
// NeoX RoPE) and qwen3 (per-head q/k RMSNorm, NeoX RoPE). Per layer:
//   x += attn(rms_norm(x))     grouped-query attention over the F16 cache
//   x += ffn(rms_norm(x))      SwiGLU
// The differences between the three are data (config, which tensors the registry binds).
#include "model/blocks/layers.hpp"
#include "model/recipes/recipe.hpp"

namespace r1 {

namespace {

class DenseRecipe final : public Recipe {
 public:
  DenseRecipe(const ModelConfig& c, const ModelWeights& w) : attn_(c, w), ffn_(c, w) {}
  void layer(int64_t il, const Pass& p) override {
    attn_.forward(il, p);
    ffn_.forward(il, p);
  }

 private:
  GqaAttention attn_;
  SwiGluFfn ffn_;
};

}  // namespace

std::unique_ptr<Recipe> make_dense_recipe(const ModelConfig& c, const ModelWeights& w) {
  return std::make_unique<DenseRecipe>(c, w);
}

}  // namespace r1
