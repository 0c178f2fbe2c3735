#include "train/run.hpp"

#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "base/atomic_file.hpp"
#include "base/error.hpp"
#include "train/bpe_trainer.hpp"

namespace r1::train {

void parse_dims(const std::string& spec, ModelConfig* cfg) {
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) fail("--dims: '{}' is not key=value", item);
    const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    double x;
    try {
      size_t used = 0;
      x = std::stod(v, &used);
      if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      fail("--dims: '{}' is not a number", item);
    }
    const auto i = static_cast<int64_t>(x);
    if (k == "embd") cfg->n_embd = i;
    else if (k == "layers") cfg->n_layer = i;
    else if (k == "heads") cfg->n_head = i;
    else if (k == "kv-heads") cfg->n_head_kv = i;
    else if (k == "head-dim") cfg->head_dim = i;
    else if (k == "ff") cfg->n_ff = i;
    else if (k == "ctx") cfg->n_ctx_train = i;
    else if (k == "vocab") cfg->n_vocab = i;
    else if (k == "tied") cfg->tied_output = i != 0;
    else if (k == "rope-theta") cfg->rope.freq_base = static_cast<float>(x);
    else if (k == "rms-eps") cfg->rms_eps = static_cast<float>(x);
    else fail("--dims: unknown key '{}' (embd, layers, heads, kv-heads, head-dim, ff, ctx, vocab, tied, rope-theta, rms-eps)", k);
  }
}

void finish_config(ModelConfig* c) {
  if (c->n_head_kv <= 0) c->n_head_kv = c->n_head;
  if (c->head_dim <= 0 && c->n_head > 0) c->head_dim = c->n_embd / c->n_head;
  c->rope.n_dims = c->head_dim;
  c->rope.style = c->arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
  c->rope.freq_scale = 1.0f;
  c->rope.ext_factor = 0.0f;
}

LoadedModel make_initial_model(const ModelInit& init) {
  if (!init.init_path.empty()) {
    LoadedModel m = import_gguf(init.init_path);
    if (!init.chat_template.empty()) m.meta.vocab.chat_template = init.chat_template;
    return m;
  }
  LoadedModel m;
  m.meta.vocab = init.tokenizer_path.empty() ? builtin_byte_vocab() : load_vocab_file(init.tokenizer_path);
  if (!init.chat_template.empty()) m.meta.vocab.chat_template = init.chat_template;
  m.meta.cfg = init.cfg;
  ModelConfig& c = m.meta.cfg;
  const auto n_tok = static_cast<int64_t>(m.meta.vocab.tokens.size());
  // Embedding rows rounded up to a multiple of 16 (unused [PAD] tokens), as real
  // models do, so the output head's matrix products take the kernels' tiled path.
  if (c.n_vocab <= 0) c.n_vocab = (n_tok + 15) / 16 * 16;
  if (c.n_vocab < n_tok) fail("vocab={} is smaller than the tokenizer ({} tokens)", c.n_vocab, n_tok);
  finish_config(&c);
  if (c.name.empty()) c.name = "r1-trained";
  const ParamLayout layout(c);
  m.params.assign(layout.size(), 0.0f);
  init_params(layout, init.seed, m.params.data());
  return m;
}

std::string sibling_path(const std::string& out, const std::string& suffix) {
  std::string base = out;
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".gguf") == 0) base.resize(base.size() - 5);
  return base + suffix;
}

void CurveLog::add(std::vector<double> row) {
  row.resize(columns_.size(), NAN);
  rows_.push_back(std::move(row));
}

void CurveLog::restore(const std::string& path, double max_x) {
  rows_.clear();
  std::ifstream in(path);
  if (!in) return;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) row.push_back(cell.empty() ? NAN : std::atof(cell.c_str()));
    if (!row.empty() && row[0] <= max_x) add(std::move(row));
  }
}

void CurveLog::write_csv(const std::string& path) const {
  std::string s = fmt::format("{}\n", fmt::join(columns_, ","));
  for (const auto& r : rows_) {
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) s += ',';
      if (std::isfinite(r[i])) s += fmt::format("{:.6g}", r[i]);
    }
    s += '\n';
  }
  write_file_atomic(path, s);
}

void CurveLog::write_svg(const std::string& path, const std::string& x_label,
                         const std::vector<std::pair<std::string, std::vector<std::string>>>& panels) const {
  std::vector<eval::PlotPanel> out;
  for (const auto& [title, names] : panels) {
    eval::PlotPanel p{title, x_label, {}, false};
    for (const std::string& n : names) {
      size_t col = 0;
      while (col < columns_.size() && columns_[col] != n) ++col;
      if (col == columns_.size()) continue;
      eval::PlotSeries se{n, {}, {}};
      for (const auto& r : rows_)
        if (std::isfinite(r[col])) {
          se.x.push_back(r[0]);
          se.y.push_back(r[col]);
        }
      p.series.push_back(std::move(se));
    }
    out.push_back(std::move(p));
  }
  eval::write_svg(path, out);
}

RunPosition resume_run(Checkpoint& ck, AdamW& opt, CurveLog& curves, const std::string& csv_path) {
  opt.m() = std::move(ck.m);
  opt.v() = std::move(ck.v);
  opt.set_steps_done(ck.step);
  curves.restore(csv_path, static_cast<double>(ck.step));
  return {.epoch = ck.run.value("epoch", int64_t{0}), .pos = ck.run.value("pos", int64_t{0}),
          .elapsed_s = ck.run.value("elapsed_s", 0.0)};
}

}  // namespace r1::train
