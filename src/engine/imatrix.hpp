// Importance matrices: the per-column mean of squared inputs of every weight product over
// a calibration text, computed as llama.cpp's llama-imatrix computes it (tools/imatrix of
// llama.cpp release v0.4.0, the build node-llama-cpp 3.21.1 ships), so that files made by
// either tool can be used by the other's quantizer.
//
// What is collected (ImatrixCollector, an ActivationObserver on the products):
//   - the layers' weights (and the output matrix with process_output); for each input row x,
//     sums[c] += x[c]^2, accumulated in float in row order;
//   - plain and per-head products (mul_mat, mul_mat_3d) only when at least 16 rows take
//     part (llama-imatrix skips smaller batches); one token count per weight, the heads of
//     a 3-D weight summed in their own column ranges (sums n_head * cols, one count);
//   - routed experts (mul_mat_id) always; one count per expert (rows routed to it).
// How the text is run (compute_imatrix): tokenized with the model's BOS, cut into chunks
// of n_ctx tokens (the remainder dropped), the first token of every chunk replaced by BOS
// when the model adds one, each chunk from an empty cache in passes of at most `ubatch`
// rows with logits for every row (so the last layer sees every row, as in llama-imatrix);
// the perplexity of the second half of every chunk is reported alongside.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/imatrix.hpp"
#include "kernels/activation_observer.hpp"

namespace r1 {

class Model;

class ImatrixCollector final : public ActivationObserver {
 public:
  // `model` gives the matrix count of each 3-D weight; `start` (may be empty) is added to;
  // `dataset` and `chunk_size` describe this run in the file's metadata.
  ImatrixCollector(const Model& model, bool process_output, const ImatrixSums& start, std::string dataset,
                   int64_t chunk_size);
  void observe(const WeightView& w, MatOrder order, const float* x, int64_t ldx, int64_t n) override;
  // The sums so far in the file form (counts as floats, as llama-imatrix writes them):
  // datasets = start's + this one, chunk_count = start's + chunks_done.
  ImatrixSums sums(int64_t chunks_done) const;

 private:
  struct Entry {
    std::vector<float> sums;
    std::vector<int64_t> counts;
    int64_t cols = 0;
  };
  Entry& entry(const WeightView& w, MatOrder order);
  const Model& model_;
  bool process_output_;
  std::unordered_map<std::string, Entry> entries_;
  std::vector<std::string> datasets_;
  int64_t chunk_count0_ = 0, chunk_size_ = 0;
};

struct ImatrixOptions {
  int64_t n_ctx = 512;         // tokens per chunk (llama-imatrix -c)
  int64_t max_chunks = -1;     // at most this many chunks; -1 = all the text gives
  int64_t skip_chunks = 0;     // drop this many chunks from the start (llama-imatrix --chunk)
  int64_t ubatch = 512;        // rows per forward pass
  bool process_output = false;  // also collect output.weight
  bool compute_ppl = true;
};

struct ImatrixProgress {
  int64_t chunk = 0;     // chunks done (1-based after the first)
  int64_t n_chunks = 0;  // chunks the run will do
  double ppl = 0;        // running perplexity of the chunks' second halves (0 without)
  double ppl_err = 0;    // its standard error
  double seconds = 0;    // since the start
};

struct ImatrixResult {
  ImatrixSums sums;
  ImatrixProgress last;
};

// Runs `text` through `model` and returns the collected sums (added to `start`), with
// `dataset` appended to its datasets, chunk_count = start's + chunks run, chunk_size =
// n_ctx. `on_chunk` (may be empty) is called after every chunk with the progress and the
// collector (whose sums(progress.chunk) an intermediate file may save). Throws r1::Error for options out of range or a
// text shorter than two chunks (llama-imatrix's minimum), naming the counts.
ImatrixResult compute_imatrix(Model& model, std::string_view text, bool parse_special, const std::string& dataset,
                              const ImatrixOptions& opts, const ImatrixSums& start = {},
                              const std::function<void(const ImatrixProgress&, const ImatrixCollector&)>& on_chunk = {});

}  // namespace r1
