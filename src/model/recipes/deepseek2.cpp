// deepseek2 (DeepSeek-V2, V2-Lite, V3, R1). Per layer:
//   x += mla(rms_norm(x))      multi-head latent attention, absorbed form, latent-only cache
//   x += ffn(rms_norm(x))      SwiGLU in the leading dense layers, DeepSeekMoE after them
// (routed experts chosen by a softmax or biased-sigmoid router with group limits, plus
// the shared experts). YaRN RoPE comes with the driver's position table.
#include "model/blocks/layers.hpp"
#include "model/recipes/recipe.hpp"

namespace r1 {

namespace {

class DeepSeek2Recipe final : public Recipe {
 public:
  DeepSeek2Recipe(const ModelConfig& c, const ModelWeights& w) : c_(c), attn_(c, w), dense_(c, w), moe_(c, w) {}
  void layer(int64_t il, const Pass& p) override {
    attn_.forward(il, p);
    if (c_.is_moe_layer(il)) moe_.forward(il, p);
    else dense_.forward(il, p);
  }

 private:
  const ModelConfig& c_;
  MlaAttention attn_;
  SwiGluFfn dense_;
  MoeFfn moe_;
};

}  // namespace

std::unique_ptr<Recipe> make_deepseek2_recipe(const ModelConfig& c, const ModelWeights& w) {
  return std::make_unique<DeepSeek2Recipe>(c, w);
}

}  // namespace r1
