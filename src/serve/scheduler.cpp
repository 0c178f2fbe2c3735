#include "serve/scheduler.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>

#include "base/thread_pool.hpp"
#include "base/timing.hpp"

namespace r1::serve {

namespace {
// One sequence's outcome of Generation::step() within a batched step.
struct StepResult {
  bool got = false;     // a token was produced (ev is set)
  bool failed = false;  // step() threw: `error` says why
  GenerateEvent ev;
  std::string error;
};
}  // namespace

void Channel::push(Item item) {
  {
    std::lock_guard lk(mu_);
    items_.push_back(std::move(item));
  }
  cv_.notify_all();
}

bool Channel::wait(std::vector<Item>& out, int timeout_ms) {
  std::unique_lock lk(mu_);
  if (items_.empty()) cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return !items_.empty(); });
  if (items_.empty()) return false;
  for (auto& it : items_) out.push_back(std::move(it));
  items_.clear();
  return true;
}

struct Scheduler::Slot {
  std::unique_ptr<KvCache> kv;
  std::vector<int32_t> tokens;  // (kv->n_past()) ids the cache holds
  std::unique_ptr<Job> job;     // null when the slot is free
  uint64_t admitted = 0;        // admission order (older jobs prefill first)
  size_t prefill_pos = 0;       // prompt tokens in the cache
  int32_t next_token = -1;      // decoding: the token to feed next
  double t_start = 0, t_decode = 0, t_last_token = 0;
  bool got_token = false;
  // The current step's share.
  size_t fed = 0;
  bool prefilling = false;
};

namespace {

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  const size_t m = std::min(a.size(), b.size());
  while (n < m && a[n] == b[n]) ++n;
  return n;
}

// Sends a job's done event (the generation must have ended) and records its metrics.
void send_done(Job& job, Metrics& metrics, const std::string& error) {
  GenerateEvent done = job.gen->finish();
  Channel::Item item;
  item.index = job.index;
  item.summary = *done.summary;
  done.summary = nullptr;
  item.ev = std::move(done);
  item.error = error;
  const GenerateSummary& s = item.summary;
  metrics.generation_done(s.prompt_tokens, s.cached_tokens, s.reasoning_tokens, s.content_tokens, s.prefill_ms / 1000.0,
                          s.decode_ms / 1000.0, s.finish == FinishReason::cancelled);
  job.channel->push(std::move(item));
}

}  // namespace

Scheduler::Scheduler(Model& model, const SchedulerOptions& opts, Metrics& metrics)
    : model_(model), opts_(opts), metrics_(metrics) {
  assert(opts_.n_slots >= 1);
  for (int32_t i = 0; i < opts_.n_slots; ++i) {
    auto s = std::make_unique<Slot>();
    s->kv = model_.new_cache(opts_.n_ctx);
    slots_.push_back(std::move(s));
  }
  worker_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    draining_ = true;
  }
  cancel_all_ = true;
  cv_.notify_all();
  worker_.join();
}

Scheduler::Submit Scheduler::submit(std::vector<std::unique_ptr<Job>> jobs) {
  {
    std::lock_guard lk(mu_);
    if (draining_) return Submit::shutting_down;
    const int64_t free_slots = opts_.n_slots - busy_;
    if (static_cast<int64_t>(queue_.size() + jobs.size()) > opts_.max_queue + free_slots) return Submit::queue_full;
    for (auto& j : jobs) queue_.push_back(std::move(j));
  }
  cv_.notify_all();
  return Submit::ok;
}

void Scheduler::begin_drain() {
  std::lock_guard lk(mu_);
  draining_ = true;
}

bool Scheduler::wait_idle(double timeout_s) {
  std::unique_lock lk(mu_);
  return idle_cv_.wait_for(lk, std::chrono::duration<double>(timeout_s),
                           [&] { return queue_.empty() && busy_ == 0; });
}

void Scheduler::cancel_all() {
  cancel_all_ = true;
  cv_.notify_all();
}

SchedulerGauges Scheduler::gauges() const {
  std::lock_guard lk(mu_);
  return {static_cast<int64_t>(queue_.size()), busy_, opts_.n_slots};
}

double Scheduler::mean_job_seconds() const {
  std::lock_guard lk(mu_);
  return mean_job_s_;
}

void Scheduler::run() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty() || busy_ > 0; });
      if (stop_) break;
      admit_locked();
    }
    step();
  }
  // Shutting down: whatever is left ends "cancelled".
  for (auto& s : slots_)
    if (s->job) {
      s->job->gen->cancel();
      complete(*s);
    }
  std::lock_guard lk(mu_);
  admit_locked();  // cancel_all_ is set: drains the queue without taking slots
}

void Scheduler::admit_locked() {
  while (!queue_.empty()) {
    Job& job = *queue_.front();
    if (cancel_all_ || job.channel->cancel.load()) {
      job.gen->cancel();
      send_done(job, metrics_, {});
      queue_.pop_front();
      idle_cv_.notify_all();
      continue;
    }
    const auto& prompt = job.gen->prompt_tokens();
    Slot* best = nullptr;
    size_t best_keep = 0;
    for (auto& s : slots_) {
      if (s->job) continue;
      const size_t keep = std::min(common_prefix(s->tokens, prompt), prompt.size() - 1);
      if (!best || keep > best_keep) best = s.get(), best_keep = keep;
    }
    if (!best) return;
    Slot& s = *best;
    if (best_keep < s.tokens.size()) {
      s.kv->truncate(static_cast<int64_t>(best_keep));
      s.tokens.resize(best_keep);
    }
    s.job = std::move(queue_.front());
    queue_.pop_front();
    s.job->gen->summary().cached_tokens = static_cast<int32_t>(best_keep);
    s.admitted = ++admissions_;
    s.prefill_pos = best_keep;
    s.next_token = -1;
    s.t_start = now_seconds();
    s.got_token = false;
    ++busy_;
  }
}

void Scheduler::complete(Slot& s, const std::string& error) {
  Job& job = *s.job;
  GenerateSummary& sum = job.gen->summary();
  const double now = now_seconds();
  if (s.prefill_pos < job.gen->prompt_tokens().size()) sum.prefill_ms = (now - s.t_start) * 1000.0;
  else sum.decode_ms = (now - s.t_decode) * 1000.0;
  const double job_s = now - job.t_arrival;
  send_done(job, metrics_, error);
  s.job.reset();
  {
    std::lock_guard lk(mu_);
    --busy_;
    mean_job_s_ = 0.8 * mean_job_s_ + 0.2 * job_s;
  }
  idle_cv_.notify_all();
}

void Scheduler::step() {
  std::vector<Slot*> order;
  for (auto& s : slots_)
    if (s->job) order.push_back(s.get());
  std::sort(order.begin(), order.end(), [](const Slot* a, const Slot* b) { return a->admitted < b->admitted; });

  std::vector<SeqBatch> seqs;
  std::vector<Slot*> batch;
  int64_t budget = std::max(1, opts_.prefill_chunk), n_tokens = 0;
  for (Slot* s : order) {
    Job& job = *s->job;
    if (cancel_all_ || job.channel->cancel.load()) {
      job.gen->cancel();
      complete(*s);
      continue;
    }
    const auto& prompt = job.gen->prompt_tokens();
    if (s->prefill_pos < prompt.size()) {
      if (budget <= 0) continue;
      s->fed = std::min<size_t>(static_cast<size_t>(budget), prompt.size() - s->prefill_pos);
      budget -= static_cast<int64_t>(s->fed);
      s->prefilling = true;
      seqs.push_back({std::span<const int32_t>(prompt.data() + s->prefill_pos, s->fed), s->kv.get(), false});
    } else {
      s->fed = 1;
      s->prefilling = false;
      seqs.push_back({std::span<const int32_t>(&s->next_token, 1), s->kv.get(), false});
    }
    n_tokens += static_cast<int64_t>(s->fed);
    batch.push_back(s);
  }
  if (seqs.empty()) return;

  const double t0 = now_seconds();
  try {
    model_.forward_batch(seqs, logits_);
  } catch (const std::exception& e) {
    for (Slot* s : batch) {
      s->job->gen->cancel();
      complete(*s, e.what());
    }
    return;
  }
  const double t1 = now_seconds();
  metrics_.batch_step(static_cast<int64_t>(seqs.size()), n_tokens, t1 - t0);

  const size_t n_vocab = static_cast<size_t>(model_.config().n_vocab);
  assert(logits_.size() == batch.size() * n_vocab);
  // Which sequences produce a token this step (all but those still inside their prompt).
  std::vector<uint8_t> sampled(batch.size(), 0);
  for (size_t i = 0; i < batch.size(); ++i) {
    Slot& s = *batch[i];
    s.tokens.insert(s.tokens.end(), seqs[i].tokens.begin(), seqs[i].tokens.end());
    assert(static_cast<int64_t>(s.tokens.size()) == s.kv->n_past());
    if (s.prefilling) {
      s.prefill_pos += s.fed;
      if (s.prefill_pos < s.job->gen->prompt_tokens().size()) continue;
      s.job->gen->summary().prefill_ms = (t1 - s.t_start) * 1000.0;
      s.t_decode = t1;
    }
    sampled[i] = 1;
  }
  // Sampling, log-probabilities and detokenising are independent per sequence (each
  // touches only its own Generation): they run on the model's pool, one sequence per
  // chunk. At temperature > 0 over a 152k vocabulary a sequence costs about 1 ms, which
  // at 8 streams was a quarter of the step when it ran on this thread alone.
  std::vector<StepResult> res(batch.size());
  model_.pool().run_chunks(static_cast<int64_t>(batch.size()), [&](int64_t i) {
    if (!sampled[static_cast<size_t>(i)]) return;
    StepResult& r = res[static_cast<size_t>(i)];
    try {
      r.got = batch[static_cast<size_t>(i)]->job->gen->step(
          std::span<float>(logits_.data() + static_cast<size_t>(i) * n_vocab, n_vocab), r.ev);
    } catch (const std::exception& e) {
      r.error = e.what();
      r.failed = true;
    }
  });
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!sampled[i]) continue;
    Slot& s = *batch[i];
    Job& job = *s.job;
    StepResult& r = res[i];
    if (r.failed) {
      job.gen->cancel();
      complete(s, r.error);
      continue;
    }
    if (r.got) {
      const double now = now_seconds();
      if (!s.got_token) metrics_.time_to_first_token(now - job.t_arrival);
      else metrics_.inter_token(now - s.t_last_token);
      s.got_token = true;
      s.t_last_token = now;
      s.next_token = r.ev.token;
      Channel::Item item;
      item.index = job.index;
      item.ev = std::move(r.ev);
      item.in_reasoning = job.gen->in_reasoning();
      job.channel->push(std::move(item));
      if (!job.gen->finished()) continue;
    }
    complete(s);
  }
}

}  // namespace r1::serve
