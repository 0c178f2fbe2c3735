#include "engine/batch_runner.hpp"

#include <algorithm>
#include <cassert>

#include "base/thread_pool.hpp"
#include "base/timing.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"

namespace r1 {

BatchRunner::BatchRunner(Model& model, int32_t prefill_budget)
    : model_(model), prefill_budget_(std::max(1, prefill_budget)) {}

int64_t BatchRunner::add(Session& session, Generation& gen) {
  const auto& prompt = gen.prompt_tokens();
  const int64_t kept = session.reuse_prefix(prompt);
  gen.summary().cached_tokens = static_cast<int32_t>(kept);
  entries_.push_back({next_id_, &session, &gen, static_cast<size_t>(kept), -1, now_seconds(), 0});
  return next_id_++;
}

void BatchRunner::remove(int64_t id) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->id != id) continue;
    GenerateSummary& sum = it->gen->summary();
    const double now = now_seconds();
    if (it->prefill_pos < it->gen->prompt_tokens().size()) sum.prefill_ms = (now - it->t_start) * 1000.0;
    else sum.decode_ms = (now - it->t_decode) * 1000.0;
    entries_.erase(it);
    return;
  }
}

std::vector<BatchRunner::Outcome> BatchRunner::step() {
  std::vector<Outcome> out;
  stats_ = {};
  if (entries_.empty()) return out;
  // This step's share of every entry: its next prompt chunk or its last token.
  std::vector<Session*> sessions;
  std::vector<std::span<const int32_t>> feeds;
  std::vector<size_t> fed_entry;  // entry index of each feed
  int64_t budget = prefill_budget_;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    const auto& prompt = e.gen->prompt_tokens();
    if (e.prefill_pos < prompt.size()) {
      if (budget <= 0) continue;
      const size_t n = std::min<size_t>(static_cast<size_t>(budget), prompt.size() - e.prefill_pos);
      budget -= static_cast<int64_t>(n);
      feeds.emplace_back(prompt.data() + e.prefill_pos, n);
    } else {
      feeds.emplace_back(&e.next_token, 1);
    }
    sessions.push_back(e.session);
    fed_entry.push_back(i);
  }
  stats_ = {static_cast<int64_t>(feeds.size()), 0, 0};
  for (const auto& f : feeds) stats_.tokens += static_cast<int64_t>(f.size());
  const double t0 = now_seconds();
  try {
    forward_sessions(model_, sessions, feeds, logits_);
  } catch (const std::exception& ex) {
    for (size_t k : fed_entry) {
      Outcome o;
      o.id = entries_[k].id;
      o.done = true;
      o.error = ex.what();
      entries_[k].gen->cancel();
      out.push_back(std::move(o));
    }
    for (const Outcome& o : out) remove(o.id);
    return out;
  }
  const double t1 = now_seconds();
  stats_.forward_seconds = t1 - t0;
  const size_t n_vocab = static_cast<size_t>(model_.config().n_vocab);
  assert(logits_.size() == feeds.size() * n_vocab);

  // Which entries produce a token (all but those still inside their prompt).
  out.resize(feeds.size());
  std::vector<uint8_t> sample(feeds.size(), 0);
  for (size_t f = 0; f < feeds.size(); ++f) {
    Entry& e = entries_[fed_entry[f]];
    out[f].id = e.id;
    if (e.prefill_pos < e.gen->prompt_tokens().size()) {
      e.prefill_pos += feeds[f].size();
      if (e.prefill_pos < e.gen->prompt_tokens().size()) continue;
      e.gen->summary().prefill_ms = (t1 - e.t_start) * 1000.0;
      e.t_decode = t1;
      out[f].prefilled = true;
    }
    sample[f] = 1;
  }
  // Sampling, log-probabilities and detokenising are independent per entry (each touches
  // only its own Generation): on the model's pool, one entry per chunk. At temperature > 0
  // over a 152k vocabulary an entry costs about 1 ms, a quarter of an 8-stream step if it
  // ran on this thread alone.
  auto sample_one = [&](size_t f) {
    if (!sample[f]) return;
    Outcome& o = out[f];
    try {
      Generation& g = *entries_[fed_entry[f]].gen;
      o.has_token = g.step(std::span<float>(logits_.data() + f * n_vocab, n_vocab), o.ev);
      o.done = !o.has_token || g.finished();
    } catch (const std::exception& ex) {
      o.error = ex.what();
      o.done = true;
      o.has_token = false;
    }
  };
  if (feeds.size() == 1) sample_one(0);
  else model_.pool().run_chunks(static_cast<int64_t>(feeds.size()), [&](int64_t f) { sample_one(static_cast<size_t>(f)); });

  const double t2 = now_seconds();
  std::vector<int64_t> finished;
  for (size_t f = 0; f < feeds.size(); ++f) {
    Entry& e = entries_[fed_entry[f]];
    const Outcome& o = out[f];
    if (o.has_token) e.next_token = o.ev.token;
    if (!o.error.empty()) e.gen->cancel();
    if (o.done) {
      e.gen->summary().decode_ms = (t2 - e.t_decode) * 1000.0;
      finished.push_back(e.id);
    }
  }
  std::erase_if(entries_, [&](const Entry& e) { return std::find(finished.begin(), finished.end(), e.id) != finished.end(); });
  // Outcomes of entries that only advanced their prompt carry nothing for the caller.
  std::erase_if(out, [&](const Outcome& o) { return !o.has_token && !o.done && !o.prefilled; });
  return out;
}

}  // namespace r1
