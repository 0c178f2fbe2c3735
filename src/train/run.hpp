// Pieces shared by the SFT and GRPO training runs: how a model starts (a new
// model of given dimensions with a tokenizer, or an existing GGUF), the curve log
// (CSV + SVG, restored on resume), and default output paths.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/plot.hpp"
#include "train/checkpoint.hpp"
#include "train/model_io.hpp"
#include "train/optimizer.hpp"

namespace r1::train {

using LogFn = std::function<void(const std::string&)>;

struct ModelInit {
  std::string init_path;       // GGUF to start from; empty = a new model from cfg
  ModelConfig cfg;             // new model: arch and dimensions (n_vocab 0: the tokenizer's size
                               // rounded up to a multiple of 16)
  std::string tokenizer_path;  // new model: .gguf or tokenizer .json; empty = built-in byte vocabulary
  std::string chat_template;   // template text to store; empty = keep the tokenizer's
  uint64_t seed = 1;           // new model: initialisation
};

// Parses "embd=256,layers=4,heads=4,kv-heads=2,ff=768,ctx=512[,head-dim=64][,tied=1]
// [,rope-theta=10000]" into cfg (keys not given keep their values). Throws r1::Error.
void parse_dims(const std::string& spec, ModelConfig* cfg);
// Fills the derived fields of a new model's config (head_dim, rope dims, rope style).
void finish_config(ModelConfig* cfg);

// The starting model: imported from init_path, or a new one initialised from seed.
LoadedModel make_initial_model(const ModelInit& init);

// "<out without .gguf>" + suffix, e.g. ("m.gguf", ".csv") -> "m.csv".
std::string sibling_path(const std::string& out, const std::string& suffix);

// Rows of numbers with named columns; written as CSV and plotted as SVG panels.
class CurveLog {
 public:
  explicit CurveLog(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  void add(std::vector<double> row);  // NaN = no value
  // Reads rows back from an existing CSV, keeping those with column 0 <= max_x.
  void restore(const std::string& csv_path, double max_x);
  void write_csv(const std::string& path) const;
  // One panel per group of column names (x = column 0).
  void write_svg(const std::string& path, const std::string& x_label,
                 const std::vector<std::pair<std::string, std::vector<std::string>>>& panels) const;
  const std::vector<std::vector<double>>& rows() const { return rows_; }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<double>> rows_;
};

// Where a resumed run continues: data epoch and position, and the seconds already spent.
struct RunPosition {
  int64_t epoch = 0, pos = 0;
  double elapsed_s = 0;
};
// Moves the checkpoint's AdamW moments and step count into `opt`, reloads the curve rows
// logged up to its step from csv_path, and returns its data position (shared by SFT and
// GRPO resume, so both continue the same run).
RunPosition resume_run(Checkpoint& ck, AdamW& opt, CurveLog& curves, const std::string& csv_path);

}  // namespace r1::train
