#include "train/sft.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <numeric>
#include <random>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/checkpoint.hpp"
#include "train/fingerprint.hpp"
#include "train/sft_data.hpp"
#include "train/transformer.hpp"

namespace r1::train {

namespace {

using Clock = std::chrono::steady_clock;

// Example order of one epoch: a permutation drawn from (seed, epoch).
std::vector<size_t> epoch_order(size_t n, uint64_t seed, int64_t epoch) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  for (size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[rng() % i]);
  return idx;
}

// Forward (and backward when `train`) over examples in micro-batches; returns the
// summed negative log-likelihood of their targets. Gradients are scaled by
// 1 / norm (the step's total target count).
double run_examples(Transformer& m, const std::vector<const Example*>& exs, int64_t micro_tokens, double norm,
                    bool train) {
  double nll = 0;
  size_t i = 0;
  while (i < exs.size()) {
    Batch b;
    int64_t tokens = 0;
    while (i < exs.size() && (tokens == 0 || tokens + static_cast<int64_t>(exs[i]->ids.size()) <= micro_tokens)) {
      b.add_sequence(exs[i]->ids, exs[i]->predict);
      tokens += static_cast<int64_t>(exs[i]->ids.size());
      ++i;
    }
    if (b.n() == 0) continue;
    const std::vector<float>& lp = m.forward(b);
    std::vector<float> d(lp.size(), 0.0f);
    for (size_t t = 0; t < lp.size(); ++t)
      if (b.targets[t] >= 0) {
        nll -= lp[t];
        d[t] = static_cast<float>(-1.0 / norm);
      }
    if (train) m.backward(d);
  }
  return nll;
}

// What a resume must not change: the data and its split, the data order, the model
// it started from, the schedule and the update rule.
Fingerprint sft_fingerprint(const SftOptions& o) {
  Fingerprint f = {{"data (--data)", file_identity(o.data)},
                   {"seed (--seed)", std::to_string(o.seed)},
                   {"steps (--steps)", std::to_string(o.steps)},
                   {"batch tokens (--batch-tokens)", std::to_string(o.batch_tokens)},
                   {"optimizer", optimizer_identity(o.opt)}};
  if (!o.val_data.empty()) f["validation data (--val-data)"] = file_identity(o.val_data);
  else f["validation split"] = fmt::format("fraction {} at most {}", o.val_fraction, o.max_val_examples);
  if (o.model_given) f["model (--init / --dims)"] = model_identity(o.init);
  return f;
}

}  // namespace

SftResult run_sft(const SftOptions& o, const LogFn& log) {
  if (o.out.empty()) fail("train sft: --out is required");
  if (o.steps < 1 || o.batch_tokens < 1 || o.micro_tokens < 1) fail("train sft: steps and batch sizes must be positive");
  const std::string ckpt_path = o.checkpoint.empty() ? sibling_path(o.out, ".ckpt.gguf") : o.checkpoint;
  const std::string csv_path = sibling_path(o.out, ".csv"), svg_path = sibling_path(o.out, ".svg");
  ThreadPool pool(o.threads);

  // The model: resumed, imported or new.
  LoadedModel start;
  Checkpoint ck;
  const bool resumed = o.resume && std::filesystem::exists(ckpt_path);
  const Fingerprint fingerprint = sft_fingerprint(o);
  if (resumed) {
    ck = load_checkpoint(ckpt_path);
    if (ck.run.value("kind", "") != "sft") fail("{}: not an SFT checkpoint", ckpt_path);
    check_resume_fingerprint(ck.run, fingerprint, ckpt_path, o.resume_force, log);
    start = std::move(ck.model);
    log(fmt::format("resuming from {} at step {}", ckpt_path, ck.step));
  } else {
    start = make_initial_model(o.init);
  }
  const ModelMeta meta = start.meta;
  auto tok = Tokenizer::from_vocab(meta.vocab);
  Transformer model(meta.cfg, pool);
  model.params() = std::move(start.params);

  // Data.
  SftDataStats st;
  std::vector<Example> data = load_sft_jsonl(o.data, *tok, meta.cfg.n_ctx_train, &st);
  log(fmt::format("{}: {} examples, {} tokens ({} predicted), {} skipped as longer than the context {}", o.data,
                  st.examples, st.tokens, st.target_tokens, st.skipped_too_long, meta.cfg.n_ctx_train));
  std::vector<Example> val;
  if (!o.val_data.empty()) {
    val = load_sft_jsonl(o.val_data, *tok, meta.cfg.n_ctx_train, nullptr);
  } else if (o.val_fraction > 0 && data.size() > 20) {
    const auto n_val = std::min<size_t>(static_cast<size_t>(o.max_val_examples),
                                        static_cast<size_t>(static_cast<double>(data.size()) * o.val_fraction) + 1);
    const std::vector<size_t> order = epoch_order(data.size(), o.seed ^ 0xABCDEFull, -1);
    std::vector<bool> is_val(data.size(), false);
    for (size_t i = 0; i < n_val; ++i) is_val[order[i]] = true;
    std::vector<Example> rest;
    for (size_t i = 0; i < data.size(); ++i) (is_val[i] ? val : rest).push_back(std::move(data[i]));
    data = std::move(rest);
  }
  if (val.size() > static_cast<size_t>(o.max_val_examples)) val.resize(static_cast<size_t>(o.max_val_examples));
  if (data.empty()) fail("train sft: no training examples in '{}'", o.data);
  std::vector<const Example*> val_ptrs;
  int64_t val_targets = 0;
  for (const auto& e : val) {
    val_ptrs.push_back(&e);
    val_targets += e.n_target();
  }

  AdamWConfig oc = o.opt;
  oc.total_steps = o.steps;
  AdamW opt(oc, model.layout());
  int64_t epoch = 0, pos = 0;
  double elapsed_before = 0;
  CurveLog curves({"step", "epoch", "lr", "loss", "val_loss", "grad_norm", "tokens_per_s", "elapsed_s"});
  if (resumed) {
    const RunPosition at = resume_run(ck, opt, curves, csv_path);
    epoch = at.epoch;
    pos = at.pos;
    elapsed_before = at.elapsed_s;
  }
  std::vector<size_t> order = epoch_order(data.size(), o.seed, epoch);

  const auto t0 = Clock::now();
  auto elapsed = [&] { return elapsed_before + std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto val_loss = [&]() -> double {
    if (val_ptrs.empty() || val_targets == 0) return NAN;
    return run_examples(model, val_ptrs, o.micro_tokens, 1.0, false) / static_cast<double>(val_targets);
  };
  auto save = [&] {
    const nlohmann::json run = {{"kind", "sft"},   {"epoch", epoch},        {"pos", pos},
                                {"seed", o.seed},  {"data", o.data},        {"steps", o.steps},
                                {"elapsed_s", elapsed()},  {"fingerprint", fingerprint_json(fingerprint)}};
    save_checkpoint(ckpt_path, meta, model.layout(), model.params().data(), opt, run);
  };
  auto write_curves = [&] {
    curves.write_csv(csv_path);
    curves.write_svg(svg_path, "step", {{"SFT loss (nats per predicted token)", {"loss", "val_loss"}},
                                        {"gradient norm", {"grad_norm"}}});
  };

  SftResult res;
  res.val_loss = NAN;
  double window_loss = 0, window_tokens = 0, window_time_start = elapsed();
  int64_t window_steps = 0;
  while (opt.steps_done() < o.steps) {
    // The step's examples.
    std::vector<const Example*> exs;
    int64_t tokens = 0, targets = 0;
    while (tokens < o.batch_tokens) {
      if (pos >= static_cast<int64_t>(order.size())) {
        ++epoch;
        pos = 0;
        order = epoch_order(data.size(), o.seed, epoch);
      }
      const Example& e = data[order[static_cast<size_t>(pos++)]];
      exs.push_back(&e);
      tokens += static_cast<int64_t>(e.ids.size());
      targets += e.n_target();
    }
    model.zero_grad();
    const double nll = run_examples(model, exs, o.micro_tokens, static_cast<double>(std::max<int64_t>(targets, 1)), true);
    const float lr = lr_at(opt.config(), opt.steps_done());
    const double gnorm = opt.step(model.params().data(), model.grads().data(), pool);
    const int64_t step = opt.steps_done();
    window_loss += nll / static_cast<double>(std::max<int64_t>(targets, 1));
    window_tokens += static_cast<double>(tokens);
    ++window_steps;
    const bool last = step == o.steps || (o.max_seconds > 0 && elapsed() > o.max_seconds);
    const bool do_eval = o.eval_every > 0 && (step % o.eval_every == 0 || last);
    if (step % o.log_every == 0 || last || do_eval) {
      const double vl = do_eval ? val_loss() : NAN;
      if (do_eval) res.val_loss = vl;
      const double now = elapsed();
      const double tps = window_tokens / std::max(1e-9, now - window_time_start);
      res.last_loss = window_loss / static_cast<double>(window_steps);
      curves.add({static_cast<double>(step), static_cast<double>(epoch), lr, res.last_loss, vl, gnorm, tps, now});
      log(fmt::format("step {:5d}/{}  epoch {}  lr {:.2e}  loss {:.4f}{}  |g| {:.3f}  {:.0f} tok/s  {:.0f}s", step,
                      o.steps, epoch, lr, res.last_loss, std::isfinite(vl) ? fmt::format("  val {:.4f}", vl) : "",
                      gnorm, tps, now));
      write_curves();
      window_loss = window_tokens = 0;
      window_steps = 0;
      window_time_start = now;
    }
    if ((o.save_every > 0 && step % o.save_every == 0) || last) save();
    if (last) break;
  }
  res.steps = opt.steps_done();
  save();
  write_curves();
  export_gguf(o.out, meta, model.layout(), model.params().data(), o.export_type);
  log(fmt::format("wrote {} ({} steps), checkpoint {}, curves {}", o.out, res.steps, ckpt_path, csv_path));
  return res;
}

}  // namespace r1::train
