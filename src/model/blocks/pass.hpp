// One pass of the forward pass over a batch: the rows of several sequences, each run of
// rows belonging to one sequence (its own KV cache and positions). Blocks read and update
// the residual stream `x` in place: x[t] += block(x[t]).
#pragma once
#include <cstdint>
#include <span>

namespace r1 {

class LayerKvCache;
class ThreadPool;

struct Segment {
  int64_t row0 = 0, n = 0;  // rows [row0, row0 + n) of the pass
  int64_t pos0 = 0;         // position of the first of them in its sequence
  LayerKvCache* kv = nullptr;
};

struct Pass {
  int64_t n = 0;                  // rows
  float* x = nullptr;             // (n, n_embd) residual stream
  float* xn = nullptr;            // (n, n_embd) scratch any block may overwrite (its normed input)
  float* tmp = nullptr;           // (n, n_embd) scratch any block may overwrite (its output)
  std::span<const Segment> segs;  // cover rows [0, n) in order
  const float* rope = nullptr;    // (n, rope dims) cos/sin table of each row's position (rope.hpp)
  ThreadPool* pool = nullptr;
};

}  // namespace r1
