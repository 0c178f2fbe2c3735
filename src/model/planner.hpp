// The planner: decides once, at load, where every weight matrix lives and in which layout,
// so that forward code only calls products on ready views (kernels/matmul_ops.hpp picks
// the kernel from the view's type, layout and op).
//
//   resident (the default): every matrix a product reads is copied into one huge-page
//     region (weight_store.hpp), then repacked in place into the CPU kernels' interleaved
//     layout where the registry allows it (repackable(): per family and type; routed
//     experts only when a packed group never straddles two experts or the gate and up
//     halves of a fused tensor). The embedding stays in the file map (read a row at a time).
//   paged (ModelOptions::allow_paging, or R1_MMAP_WEIGHTS=1, or no memory for the copy):
//     everything is computed from the memory map, row-major, paged in from disk as needed.
// Repacking never changes results (kernels tests: packed == row-major bit for bit).
//
// In both modes, tensors the binder derives from others (legacy MLA files: attn_k_b, the
// transpose of attn_kv_b's K rows) are computed here into memory of the store; their
// strided views (attn_v_b over attn_kv_b's V rows) are copied contiguously when resident
// and read in place from the memory map otherwise. Nothing of the file is copied twice.
#pragma once
#include <cstddef>
#include <string>

#include "model/config.hpp"
#include "model/weight_store.hpp"
#include "model/weights.hpp"

namespace r1 {

class ThreadPool;

struct WeightPlan {
  bool resident = false;   // the matrices were copied into the store
  size_t packed_bytes = 0; // of which repacked
};

// `path`: the file the weights were bound from. Throws r1::Error if it cannot be read,
// or a derived tensor cannot be computed or allocated.
WeightPlan plan_weights(ModelWeights& w, const ModelConfig& cfg, const std::string& path, bool resident,
                        ThreadPool& pool, WeightStore& store);

}  // namespace r1
