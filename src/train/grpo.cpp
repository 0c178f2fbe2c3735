#include "train/grpo.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <numeric>
#include <random>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "engine/chat_format.hpp"
#include "eval/evaluator.hpp"
#include "eval/rollout.hpp"
#include "eval/verifier.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/checkpoint.hpp"
#include "train/fingerprint.hpp"
#include "train/transformer.hpp"

namespace r1::train {

double kl_k3(double logp, double logp_ref) {
  const double d = logp_ref - logp;
  return std::exp(d) - d - 1.0;
}

double grpo_dlogp(double logp, double logp_old, double logp_ref, double a, double eps, double beta) {
  const double ratio = std::exp(logp - logp_old);
  const bool active = a >= 0 ? ratio <= 1.0 + eps : ratio >= 1.0 - eps;
  const double d_policy = active ? -ratio * a : 0.0;
  const double d_kl = beta * (1.0 - std::exp(logp_ref - logp));
  return d_policy + d_kl;
}

namespace {

using Clock = std::chrono::steady_clock;

struct RewardSpec {
  std::string name;  // boxed-match | think-format
  double weight;
};

std::vector<RewardSpec> parse_rewards(const std::vector<std::string>& specs) {
  std::vector<RewardSpec> out;
  for (const std::string& s : specs) {
    const size_t colon = s.find(':');
    RewardSpec r{s.substr(0, colon), 1.0};
    if (colon != std::string::npos) {
      try {
        r.weight = std::stod(s.substr(colon + 1));
      } catch (const std::exception&) {
        fail("--reward: bad weight in '{}'", s);
      }
    }
    if (r.name != "boxed-match" && r.name != "think-format")
      fail("--reward: unknown reward '{}' (boxed-match, think-format)", r.name);
    out.push_back(r);
  }
  if (out.empty()) fail("--reward: no rewards given");
  return out;
}

// The reasoning block closed exactly once, and an answer follows it.
bool think_format_ok(const eval::RolloutSample& s) {
  if (!s.closed_reasoning || s.content.empty()) return false;
  const std::string closer = "</think>";
  size_t n = 0;
  for (size_t p = s.text.find(closer); p != std::string::npos; p = s.text.find(closer, p + 1)) ++n;
  return n == 1 && s.text.find("<think>") == std::string::npos;
}

std::vector<size_t> epoch_order(size_t n, uint64_t seed, int64_t epoch) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 7);
  for (size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[rng() % i]);
  return idx;
}

uint64_t sample_seed(uint64_t seed, int64_t step, size_t i) {
  uint64_t h = seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(step) * 0xD1B54A32D192ED03ull);
  h ^= static_cast<uint64_t>(i) * 0xA24BAED4963EE407ull;
  h ^= h >> 31;
  return h & 0x7FFFFFFFFFFFFFFFull;
}

// One sequence of the update batch.
struct TrainSeq {
  std::vector<int32_t> ids;
  std::vector<uint8_t> predict;
  double advantage = 0;
  double weight = 0;  // 1 / (|o_i| * n_sequences)
};

// What a resume must not change: the policy's start (and reference), the prompts, the
// seed, the sampling, the objective and the schedule.
Fingerprint grpo_fingerprint(const GrpoOptions& o) {
  const SamplingParams& s = o.sampling;
  return {{"model (--init)", file_identity(o.init)},
          {"prompts (--prompts)", file_identity(o.prompts)},
          {"prompt suffix", o.prompt_suffix},
          {"seed (--seed)", std::to_string(o.seed)},
          {"steps (--steps)", std::to_string(o.steps)},
          {"rewards (--reward)", fmt::format("{}", fmt::join(o.rewards, ","))},
          {"batch", fmt::format("group {} prompts-per-step {} epochs {}", o.group, o.prompts_per_step, o.epochs)},
          {"objective", fmt::format("clip-eps {} kl-coef {}", o.clip_eps, o.kl_coef)},
          {"sampling", fmt::format("temperature {} top-p {} top-k {} min-p {} max-tokens {}", s.temperature, s.top_p,
                                   s.top_k, s.min_p, o.max_tokens)},
          {"optimizer", optimizer_identity(o.opt)}};
}

}  // namespace

GrpoResult run_grpo(const GrpoOptions& o, const LogFn& log) {
  if (o.out.empty() || o.init.empty() || o.prompts.empty()) fail("train grpo: --init, --prompts and --out are required");
  if (o.group < 2) fail("train grpo: --group must be at least 2 (advantages are relative to the group)");
  if (o.prompts_per_step < 1 || o.steps < 1 || o.epochs < 1) fail("train grpo: steps, prompts and epochs must be positive");
  const std::vector<RewardSpec> rewards = parse_rewards(o.rewards);
  const std::string ckpt_path = o.checkpoint.empty() ? sibling_path(o.out, ".ckpt.gguf") : o.checkpoint;
  const std::string csv_path = sibling_path(o.out, ".csv"), svg_path = sibling_path(o.out, ".svg");
  ThreadPool pool(o.threads);

  LoadedModel ref_model = import_gguf(o.init);
  LoadedModel start;
  Checkpoint ck;
  const bool resumed = o.resume && std::filesystem::exists(ckpt_path);
  const Fingerprint fingerprint = grpo_fingerprint(o);
  if (resumed) {
    ck = load_checkpoint(ckpt_path);
    if (ck.run.value("kind", "") != "grpo") fail("{}: not a GRPO checkpoint", ckpt_path);
    check_resume_fingerprint(ck.run, fingerprint, ckpt_path, o.resume_force, log);
    start = std::move(ck.model);
    log(fmt::format("resuming from {} at step {}", ckpt_path, ck.step));
  } else {
    start = ref_model;
  }
  const ModelMeta meta = start.meta;
  Transformer policy(meta.cfg, pool);
  policy.params() = std::move(start.params);
  Transformer reference(ref_model.meta.cfg, pool);
  if (reference.layout().size() != policy.layout().size()) fail("train grpo: the checkpoint does not match --init");
  reference.params() = std::move(ref_model.params);
  auto tok = Tokenizer::from_vocab(meta.vocab);

  const std::vector<eval::EvalProblem> probs = eval::load_eval_set(o.prompts, o.prompt_suffix);
  if (probs.empty()) fail("train grpo: no prompts in '{}'", o.prompts);
  std::vector<std::vector<int32_t>> prompt_ids;
  bool starts_in_reasoning = false;
  for (const auto& p : probs) {
    const std::string text = format_chat(*tok, p.messages, true);
    starts_in_reasoning = ends_in_reasoning(text);
    prompt_ids.push_back(tokenize_prompt(*tok, text));
  }

  // The inference engine samples from the live policy: its weights are views of the
  // trainer's parameter buffer (updated in place by the optimizer), nothing is copied or
  // written to a file.
  VocabData engine_vocab = meta.vocab;
  pad_vocab(engine_vocab, meta.cfg.n_vocab);  // as a model file stores it: [PAD] rows are tokens too
  const std::unique_ptr<Model> engine =
      Model::over_floats(meta.cfg, Tokenizer::from_vocab(std::move(engine_vocab)), policy.layout().tensors(),
                         policy.layout().offsets(), policy.params().data(), {.n_threads = o.threads});

  AdamWConfig oc = o.opt;
  oc.total_steps = o.steps;
  AdamW opt(oc, policy.layout());
  int64_t epoch = 0, pos = 0;
  double elapsed_before = 0;
  CurveLog curves({"step", "reward", "accuracy", "format", "kl", "reasoning_tokens", "tokens", "truncated",
                   "groups_used", "lr", "grad_norm", "elapsed_s"});
  if (resumed) {
    const RunPosition at = resume_run(ck, opt, curves, csv_path);
    epoch = at.epoch;
    pos = at.pos;
    elapsed_before = at.elapsed_s;
  }
  std::vector<size_t> order = epoch_order(probs.size(), o.seed, epoch);
  const auto t0 = Clock::now();
  auto elapsed = [&] { return elapsed_before + std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto save = [&] {
    const nlohmann::json run = {{"kind", "grpo"}, {"epoch", epoch},   {"pos", pos},         {"seed", o.seed},
                                {"init", o.init}, {"prompts", o.prompts}, {"steps", o.steps}, {"elapsed_s", elapsed()},
                                {"fingerprint", fingerprint_json(fingerprint)}};
    save_checkpoint(ckpt_path, meta, policy.layout(), policy.params().data(), opt, run);
  };
  auto write_curves = [&] {
    curves.write_csv(csv_path);
    curves.write_svg(svg_path, "step",
                     {{"GRPO reward and accuracy (training prompts)", {"reward", "accuracy", "format"}},
                      {"KL to the reference (per token)", {"kl"}},
                      {"mean length (tokens)", {"reasoning_tokens", "tokens"}}});
  };

  GrpoResult res;
  eval::RolloutOptions ro{o.sampling, o.max_tokens, o.max_batch, {}};  // no speculation
  while (opt.steps_done() < o.steps) {
    const int64_t step = opt.steps_done();
    // 1-2. Prompts and samples from the current policy.
    std::vector<size_t> chosen;
    for (int i = 0; i < o.prompts_per_step; ++i) {
      if (pos >= static_cast<int64_t>(order.size())) {
        ++epoch;
        pos = 0;
        order = epoch_order(probs.size(), o.seed, epoch);
      }
      chosen.push_back(order[static_cast<size_t>(pos++)]);
    }
    std::vector<std::vector<int32_t>> prompts;
    std::vector<uint64_t> seeds;
    for (size_t c = 0; c < chosen.size(); ++c)
      for (int g = 0; g < o.group; ++g) {
        prompts.push_back(prompt_ids[chosen[c]]);
        seeds.push_back(sample_seed(o.seed, step, prompts.size()));
      }
    const std::vector<eval::RolloutSample> samples = eval::rollout(*engine, prompts, seeds, starts_in_reasoning, ro);

    // 3-4. Rewards and group-normalised advantages.
    const size_t n = samples.size();
    std::vector<double> reward(n, 0.0), adv(n, 0.0);
    double acc = 0, fmt_ok = 0, rtok = 0, ttok = 0, trunc = 0;
    for (size_t i = 0; i < n; ++i) {
      const eval::EvalProblem& p = probs[chosen[i / static_cast<size_t>(o.group)]];
      const eval::RolloutSample& s = samples[i];
      const bool correct = s.closed_reasoning && eval::score_answer(p.ref, s.content).correct;
      const bool format = think_format_ok(s);
      for (const RewardSpec& r : rewards) reward[i] += r.weight * (r.name == "boxed-match" ? correct : format);
      acc += correct;
      fmt_ok += format;
      rtok += static_cast<double>(s.reasoning_tokens);
      ttok += static_cast<double>(s.tokens.size());
      trunc += s.truncated;
    }
    std::vector<TrainSeq> seqs;
    int groups_used = 0;
    for (size_t c = 0; c < chosen.size(); ++c) {
      const size_t b = c * static_cast<size_t>(o.group), e = b + static_cast<size_t>(o.group);
      double mean = 0, var = 0;
      for (size_t i = b; i < e; ++i) mean += reward[i];
      mean /= o.group;
      for (size_t i = b; i < e; ++i) var += (reward[i] - mean) * (reward[i] - mean);
      const double sd = std::sqrt(var / o.group);
      if (sd < 1e-9) continue;
      ++groups_used;
      for (size_t i = b; i < e; ++i) {
        adv[i] = (reward[i] - mean) / (sd + 1e-4);
        TrainSeq ts;
        ts.ids = prompts[i];
        ts.predict.assign(ts.ids.size(), 0);
        ts.ids.insert(ts.ids.end(), samples[i].tokens.begin(), samples[i].tokens.end());
        if (!samples[i].truncated && tok->eos() >= 0) ts.ids.push_back(tok->eos());
        ts.ids.resize(std::min<size_t>(ts.ids.size(), static_cast<size_t>(meta.cfg.n_ctx_train)));
        ts.predict.resize(ts.ids.size(), 1);
        ts.advantage = adv[i];
        seqs.push_back(std::move(ts));
      }
    }

    // 5. Policy update(s).
    double kl_sum = 0, kl_tokens = 0, gnorm = 0;
    const float lr = lr_at(opt.config(), step);
    if (!seqs.empty()) {
      for (TrainSeq& s : seqs) {
        int64_t gen = 0;
        for (uint8_t p : s.predict) gen += p;
        s.weight = 1.0 / (static_cast<double>(std::max<int64_t>(gen, 1)) * static_cast<double>(seqs.size()));
      }
      // Micro-batches of whole sequences.
      std::vector<std::pair<size_t, size_t>> micro;
      for (size_t i = 0; i < seqs.size();) {
        size_t j = i;
        int64_t tokens = 0;
        while (j < seqs.size() && (j == i || tokens + static_cast<int64_t>(seqs[j].ids.size()) <= o.micro_tokens))
          tokens += static_cast<int64_t>(seqs[j++].ids.size());
        micro.push_back({i, j});
        i = j;
      }
      std::vector<Batch> batches(micro.size());
      std::vector<std::vector<float>> ref_lp(micro.size()), old_lp(micro.size());
      std::vector<std::vector<double>> row_adv(micro.size()), row_w(micro.size());
      for (size_t m = 0; m < micro.size(); ++m) {
        for (size_t i = micro[m].first; i < micro[m].second; ++i) {
          batches[m].add_sequence(seqs[i].ids, seqs[i].predict);
          for (size_t t = 0; t + 1 < seqs[i].ids.size(); ++t) {
            row_adv[m].push_back(seqs[i].advantage);
            row_w[m].push_back(seqs[i].weight);
          }
        }
        ref_lp[m] = reference.forward(batches[m]);
      }
      for (int ep = 0; ep < o.epochs; ++ep) {
        policy.zero_grad();
        for (size_t m = 0; m < micro.size(); ++m) {
          const std::vector<float> lp = policy.forward(batches[m]);
          if (ep == 0) old_lp[m] = lp;
          std::vector<float> d(lp.size(), 0.0f);
          for (size_t t = 0; t < lp.size(); ++t) {
            if (batches[m].targets[t] < 0) continue;
            d[t] = static_cast<float>(row_w[m][t] * grpo_dlogp(lp[t], old_lp[m][t], ref_lp[m][t], row_adv[m][t],
                                                               o.clip_eps, o.kl_coef));
            if (ep == 0) {
              kl_sum += kl_k3(lp[t], ref_lp[m][t]);
              kl_tokens += 1;
            }
          }
          policy.backward(d);
        }
        gnorm = opt.step(policy.params().data(), policy.grads().data(), pool);
        if (ep + 1 < o.epochs) opt.set_steps_done(step);  // one schedule step per GRPO step
      }
    } else {
      opt.set_steps_done(step + 1);  // nothing to learn from this batch
    }

    // 6. Log.
    const double nn = static_cast<double>(n), done_step = static_cast<double>(opt.steps_done());
    double mean_reward = 0;
    for (double r : reward) mean_reward += r;
    mean_reward /= nn;
    res.last_reward = mean_reward;
    res.last_accuracy = acc / nn;
    const double kl = kl_tokens > 0 ? kl_sum / kl_tokens : NAN;
    curves.add({done_step, mean_reward, acc / nn, fmt_ok / nn, kl, rtok / nn, ttok / nn, trunc / nn,
                static_cast<double>(groups_used) / static_cast<double>(chosen.size()), lr, gnorm, elapsed()});
    const bool last = opt.steps_done() >= o.steps || (o.max_seconds > 0 && elapsed() > o.max_seconds);
    if (opt.steps_done() % o.log_every == 0 || last) {
      log(fmt::format("step {:4d}/{}  reward {:.3f}  acc {:.3f}  format {:.3f}  kl {:.4f}  reasoning {:.0f} tok  "
                      "truncated {:.2f}  groups {}/{}  lr {:.2e}  |g| {:.3f}  {:.0f}s",
                      opt.steps_done(), o.steps, mean_reward, acc / nn, fmt_ok / nn, std::isfinite(kl) ? kl : 0.0,
                      rtok / nn, trunc / nn, groups_used, chosen.size(), lr, gnorm, elapsed()));
      write_curves();
    }
    if ((o.save_every > 0 && opt.steps_done() % o.save_every == 0) || last) save();
    if (last) break;
  }
  res.steps = opt.steps_done();
  save();
  write_curves();
  export_gguf(o.out, meta, policy.layout(), policy.params().data(), o.export_type);
  log(fmt::format("wrote {} ({} steps), checkpoint {}, curves {}", o.out, res.steps, ckpt_path, csv_path));
  return res;
}

}  // namespace r1::train
