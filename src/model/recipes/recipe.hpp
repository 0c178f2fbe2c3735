// A family's forward pass, as a short composition of the layer blocks (blocks/layers.hpp)
// in the way llama.cpp's src/models/*.cpp read: everything before and after the layers
// (embedding, positions, RoPE table, final norm, output projection, batching, chunking,
// validation) is the driver's (transformer_model.cpp), the same for every family.
#pragma once
#include <cstdint>
#include <memory>

#include "model/blocks/pass.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"

namespace r1 {

class Recipe {
 public:
  virtual ~Recipe() = default;
  // x += layer il (attention, then feed-forward) for every row of the pass.
  virtual void layer(int64_t il, const Pass& p) = 0;
};

// recipes/dense.cpp (llama, qwen2, qwen3), recipes/deepseek2.cpp.
std::unique_ptr<Recipe> make_dense_recipe(const ModelConfig& c, const ModelWeights& w);
std::unique_ptr<Recipe> make_deepseek2_recipe(const ModelConfig& c, const ModelWeights& w);

inline std::unique_ptr<Recipe> make_recipe(const ModelConfig& c, const ModelWeights& w) {
  return c.arch == Arch::deepseek2 ? make_deepseek2_recipe(c, w) : make_dense_recipe(c, w);
}

}  // namespace r1
