// Importance-matrix collection and the calibration run; contracts in imatrix.hpp.
#include "engine/imatrix.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string_view>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "model/model.hpp"
#include "model/registry/registry.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

namespace {

// llama-imatrix ignores plain products of fewer rows (its "small batches").
constexpr int64_t kMinRows = 16;

}  // namespace

ImatrixCollector::ImatrixCollector(const Model& model, bool process_output, const ImatrixSums& start,
                                   std::string dataset, int64_t chunk_size)
    : model_(model),
      process_output_(process_output),
      datasets_(start.datasets),
      chunk_count0_(start.chunk_count),
      chunk_size_(chunk_size) {
  datasets_.push_back(std::move(dataset));
  for (const auto& [name, e] : start.entries) {
    Entry& d = entries_[name];
    d.sums = e.sums;
    for (float c : e.counts) d.counts.push_back(std::llround(c));
    // d.cols stays 0 until the weight is seen: a file's 3-D entries may be flat
  }
}

ImatrixCollector::Entry& ImatrixCollector::entry(const WeightView& w, MatOrder order) {
  auto it = entries_.find(w.name);
  if (it != entries_.end()) return it->second;
  // Matrices of a 3-D weight: from the file, else (tensors derived at load) the config.
  int64_t n_mat = 1;
  const gguf::TensorInfo* t = model_.file() ? model_.file()->find_tensor(w.name) : nullptr;
  if (t && t->shape.size() >= 3) n_mat = t->shape[2];
  else if (!t && order == MatOrder::mul_mat_3d) n_mat = model_.config().n_head;
  else if (!t && order == MatOrder::mul_mat_id) n_mat = model_.config().moe.n_expert;
  Entry& e = entries_[w.name];
  e.cols = w.cols;
  e.sums.assign(static_cast<size_t>(n_mat * w.cols), 0.0f);
  e.counts.assign(order == MatOrder::mul_mat_id ? static_cast<size_t>(n_mat) : 1, 0);
  return e;
}

void ImatrixCollector::observe(const WeightView& w, MatOrder order, const float* x, int64_t ldx, int64_t n) {
  const std::string_view name = w.name;
  // llama-imatrix's rule: the layers' weights ("blk.N.*"), the output matrix on request
  TensorKind kind;
  int64_t layer = -1;
  if (!parse_tensor_name(w.name, &kind, &layer)) return;
  if (layer < 0 && !(process_output_ && kind == TensorKind::output)) return;
  if (order != MatOrder::mul_mat_id && n < kMinRows) return;
  Entry& e = entry(w, order);
  if (e.cols == 0 && w.cols > 0 && e.sums.size() % static_cast<size_t>(w.cols) == 0) e.cols = w.cols;
  const int64_t n_mat = static_cast<int64_t>(e.sums.size()) / std::max<int64_t>(e.cols, 1);
  if (e.cols != w.cols || w.slice < 0 || w.slice >= n_mat)
    fail("imatrix: weight '{}' (matrix {}) has {} columns, its imatrix entry {} sums (another model's imatrix?)", name,
         w.slice, w.cols, e.sums.size());
  if (order == MatOrder::mul_mat_id && e.counts.size() != static_cast<size_t>(n_mat))
    fail("imatrix: weight '{}' is used both as routed experts and as a plain product", name);
  float* acc = e.sums.data() + static_cast<size_t>(w.slice) * static_cast<size_t>(e.cols);
  for (int64_t t = 0; t < n; ++t) {
    const float* row = x + t * ldx;
    for (int64_t c = 0; c < e.cols; ++c) acc[c] += row[c] * row[c];
  }
  for (int64_t c = 0; c < e.cols; ++c)
    if (!std::isfinite(acc[c])) fail("imatrix: non-finite activation statistics for '{}' (column {})", name, c);
  if (order == MatOrder::mul_mat_id) e.counts[static_cast<size_t>(w.slice)] += n;
  else if (w.slice == 0) e.counts[0] += n;  // the heads of one product count its tokens once
}

ImatrixSums ImatrixCollector::sums(int64_t chunks_done) const {
  ImatrixSums out;
  out.datasets = datasets_;
  out.chunk_count = chunk_count0_ + chunks_done;
  out.chunk_size = chunk_size_;
  for (const auto& [name, e] : entries_) {
    ImatrixSums::Entry& d = out.entries[name];
    d.sums = e.sums;
    for (int64_t c : e.counts) d.counts.push_back(static_cast<float>(c));
  }
  return out;
}

namespace {

// Negative log-likelihood of `next` under one row of logits, in double.
double token_nll(const float* logits, int64_t n_vocab, int32_t next) {
  float mx = logits[0];
  for (int64_t v = 1; v < n_vocab; ++v) mx = std::max(mx, logits[v]);
  double sum = 0;
  for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp(static_cast<double>(logits[v] - mx));
  return std::log(sum) - static_cast<double>(logits[next] - mx);
}

}  // namespace

ImatrixResult compute_imatrix(Model& model, std::string_view text, bool parse_special, const std::string& dataset,
                              const ImatrixOptions& o, const ImatrixSums& start,
                              const std::function<void(const ImatrixProgress&, const ImatrixCollector&)>& on_chunk) {
  if (o.n_ctx < kMinRows) fail("imatrix: the chunk size must be at least {} tokens, got {}", kMinRows, o.n_ctx);
  if (o.ubatch < 1) fail("imatrix: the pass size must be at least 1 row, got {}", o.ubatch);
  if (o.skip_chunks < 0) fail("imatrix: the number of chunks to skip must be >= 0, got {}", o.skip_chunks);
  const Tokenizer& tok = model.tokenizer();
  std::vector<int32_t> tokens = tok.encode(text, /*add_bos=*/true, parse_special);
  const int64_t skip = o.skip_chunks * o.n_ctx;
  if (o.skip_chunks > 0) {
    if (static_cast<int64_t>(tokens.size()) <= (o.skip_chunks + 2) * o.n_ctx)
      fail("imatrix: the text has {} tokens: not enough left after skipping {} chunks of {}", tokens.size(),
           o.skip_chunks, o.n_ctx);
    tokens.erase(tokens.begin(), tokens.begin() + skip);
  }
  if (static_cast<int64_t>(tokens.size()) < 2 * o.n_ctx)
    fail("imatrix: the text has {} tokens; a chunk size of {} needs at least {} (use a longer text or a smaller -c)",
         tokens.size(), o.n_ctx, 2 * o.n_ctx);
  const int64_t n_all = static_cast<int64_t>(tokens.size()) / o.n_ctx;
  const int64_t n_chunks = o.max_chunks < 0 ? n_all : std::min(o.max_chunks, n_all);
  if (n_chunks < 1) fail("imatrix: no chunk to run (--chunks {})", o.max_chunks);
  const bool add_bos = tok.vocab().add_bos && tok.bos() >= 0;
  const int64_t n_vocab = model.config().n_vocab;

  ImatrixCollector collector(model, o.process_output, start, dataset, o.n_ctx);
  auto kv = model.new_cache(o.n_ctx);
  std::vector<float> logits;
  std::vector<int32_t> chunk(static_cast<size_t>(o.n_ctx));
  ImatrixProgress prog;
  prog.n_chunks = n_chunks;
  double nll = 0, nll2 = 0;
  int64_t counted = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::copy_n(tokens.begin() + c * o.n_ctx, o.n_ctx, chunk.begin());
    if (add_bos) chunk[0] = tok.bos();
    kv->truncate(0);
    const int64_t first = o.n_ctx / 2;  // perplexity over the second half, as llama-imatrix
    for (int64_t p0 = 0; p0 < o.n_ctx; p0 += o.ubatch) {
      const int64_t len = std::min(o.ubatch, o.n_ctx - p0);
      {
        const ScopedActivationObserver watch(&collector);
        model.forward(std::span<const int32_t>(chunk.data() + p0, static_cast<size_t>(len)), *kv, logits, true);
      }
      if (!o.compute_ppl) continue;
      for (int64_t i = std::max(p0, first); i < p0 + len && i + 1 < o.n_ctx; ++i) {
        // the target is the original text's token (the BOS replaced only position 0)
        const double v = token_nll(logits.data() + (i - p0) * n_vocab, n_vocab, chunk[static_cast<size_t>(i + 1)]);
        nll += v;
        nll2 += v * v;
        ++counted;
      }
    }
    prog.chunk = c + 1;
    prog.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (counted > 0) {
      const double mean = nll / counted, var = nll2 / counted - mean * mean;
      prog.ppl = std::exp(mean);
      prog.ppl_err = counted > 1 && var > 0 ? prog.ppl * std::sqrt(var / (counted - 1)) : 0;
    }
    if (on_chunk) on_chunk(prog, collector);
  }
  return ImatrixResult{collector.sums(n_chunks), prog};
}

}  // namespace r1
