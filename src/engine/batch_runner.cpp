#include "engine/batch_runner.hpp"

#include <algorithm>
#include <cassert>

#include "base/thread_pool.hpp"
#include "base/timing.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

BatchRunner::BatchRunner(Model& model, int32_t prefill_budget, SpeculationOptions spec)
    : model_(model), prefill_budget_(std::max(1, prefill_budget)), spec_(spec) {
  spec_.validate();
}

BatchRunner::~BatchRunner() = default;

int64_t BatchRunner::add(Session& session, Generation& gen) {
  const auto& prompt = gen.prompt_tokens();
  const int64_t kept = session.reuse_prefix(prompt);
  gen.summary().cached_tokens = static_cast<int32_t>(kept);
  Entry e{next_id_, &session, &gen, static_cast<size_t>(kept), -1, now_seconds(), 0, nullptr, {}};
  e.drafter = make_drafter(spec_, session.n_ctx());
  entries_.push_back(std::move(e));
  return next_id_++;
}

void BatchRunner::draft(Entry& e) {
  if (!e.drafter) return;
  // Room in the cache after the next token, and tokens the generation may still produce
  // after the one this row yields.
  const int64_t room = e.session->n_ctx() - e.session->n_past() - 1;
  const int64_t limit = std::min<int64_t>({spec_.draft_max, room, e.gen->tokens_left() - 1});
  if (limit < spec_.draft_min) return;
  history_.assign(e.session->tokens().begin(), e.session->tokens().end());
  history_.push_back(e.next_token);
  std::vector<int32_t> drafts;
  try {
    drafts = e.drafter->propose(history_, static_cast<int32_t>(limit));
  } catch (const std::exception&) {
    drafts.clear();  // a draft is only a guess: decode plainly
  }
  const int32_t n_vocab = model_.tokenizer().n_vocab();
  if (drafts.size() < static_cast<size_t>(spec_.draft_min)) return;
  for (int32_t d : drafts) {
    if (d < 0 || d >= n_vocab) break;
    e.feed.push_back(d);
  }
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
  // This step's share of every entry: its next prompt chunk, or its last token and drafts.
  std::vector<Session*> sessions;
  std::vector<std::span<const int32_t>> feeds;
  std::vector<uint8_t> all_rows;  // per feed: logits for every token (verifying drafts)
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
      all_rows.push_back(0);
    } else {
      e.feed.assign(1, e.next_token);
      draft(e);
      feeds.emplace_back(e.feed);
      all_rows.push_back(e.feed.size() > 1 ? 1 : 0);
      stats_.drafted += static_cast<int64_t>(e.feed.size()) - 1;
    }
    sessions.push_back(e.session);
    fed_entry.push_back(i);
  }
  stats_.sequences = static_cast<int64_t>(feeds.size());
  for (const auto& f : feeds) stats_.tokens += static_cast<int64_t>(f.size());
  const double t0 = now_seconds();
  try {
    forward_sessions(model_, sessions, feeds, logits_, all_rows);
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

  // Which entries produce tokens (all but those still inside their prompt), and where
  // their logits rows start.
  std::vector<uint8_t> sample(feeds.size(), 0), prefilled(feeds.size(), 0);
  std::vector<size_t> first_row(feeds.size(), 0);
  size_t rows = 0;
  for (size_t f = 0; f < feeds.size(); ++f) {
    first_row[f] = rows;
    rows += all_rows[f] ? feeds[f].size() : 1;
    Entry& e = entries_[fed_entry[f]];
    if (e.prefill_pos < e.gen->prompt_tokens().size()) {
      e.prefill_pos += feeds[f].size();
      if (e.prefill_pos < e.gen->prompt_tokens().size()) continue;
      e.gen->summary().prefill_ms = (t1 - e.t_start) * 1000.0;
      e.t_decode = t1;
      prefilled[f] = 1;
    }
    sample[f] = 1;
  }
  assert(logits_.size() == rows * n_vocab);
  // Sampling, log-probabilities and detokenising are independent per entry (each touches
  // only its own Generation): on the model's pool, one entry per chunk. At temperature > 0
  // over a 152k vocabulary an entry costs about 1 ms, a quarter of an 8-stream step if it
  // ran on this thread alone. A verifying entry steps row after row while its token is
  // the next draft (speculation.hpp).
  std::vector<std::vector<Outcome>> produced(feeds.size());
  auto sample_one = [&](size_t f) {
    if (!sample[f]) return;
    std::vector<Outcome>& mine = produced[f];
    Generation& g = *entries_[fed_entry[f]].gen;
    const size_t n_rows = all_rows[f] ? feeds[f].size() : 1;
    for (size_t r = 0; r < n_rows; ++r) {
      Outcome& o = mine.emplace_back();
      o.id = entries_[fed_entry[f]].id;
      o.prefilled = prefilled[f] && r == 0;
      try {
        o.has_token = g.step(std::span<float>(logits_.data() + (first_row[f] + r) * n_vocab, n_vocab), o.ev);
        o.done = !o.has_token || g.finished();
      } catch (const std::exception& ex) {
        o.error = ex.what();
        o.done = true;
        o.has_token = false;
      }
      if (o.done || r + 1 == n_rows || o.ev.token != feeds[f][r + 1]) break;
    }
  };
  if (feeds.size() == 1) sample_one(0);
  else model_.pool().run_chunks(static_cast<int64_t>(feeds.size()), [&](int64_t f) { sample_one(static_cast<size_t>(f)); });

  const double t2 = now_seconds();
  std::vector<int64_t> finished;
  for (size_t f = 0; f < feeds.size(); ++f) {
    Entry& e = entries_[fed_entry[f]];
    if (!sample[f]) {
      Outcome o;
      o.id = e.id;
      produced[f].push_back(std::move(o));
      continue;
    }
    if (all_rows[f]) {
      // Rows 0 .. used-1 had correct inputs (each fed draft was the token produced before
      // it); the drafts after them are dropped from the cache.
      const size_t used = produced[f].size();
      const size_t base = e.session->tokens().size() - feeds[f].size();
      e.session->truncate(base + used);
      GenerateSummary& sum = e.gen->summary();
      sum.draft_tokens += static_cast<int32_t>(feeds[f].size() - 1);
      sum.draft_accepted += static_cast<int32_t>(used - 1);
      stats_.accepted += static_cast<int64_t>(used - 1);
    }
    const Outcome& last = produced[f].back();
    if (last.has_token) e.next_token = last.ev.token;
    if (!last.error.empty()) e.gen->cancel();
    if (last.done) {
      e.gen->summary().decode_ms = (t2 - e.t_decode) * 1000.0;
      finished.push_back(e.id);
    }
  }
  std::erase_if(entries_, [&](const Entry& e) { return std::find(finished.begin(), finished.end(), e.id) != finished.end(); });
  // Outcomes of entries that only advanced their prompt carry nothing for the caller.
  for (auto& list : produced)
    for (Outcome& o : list)
      if (o.has_token || o.done || o.prefilled) out.push_back(std::move(o));
  return out;
}

}  // namespace r1
