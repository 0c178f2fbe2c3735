// Continuous batching over slots.
//
// A slot is one Session (a sequence's KV cache plus the ids it holds). One worker
// thread owns the model and every slot; HTTP threads hand it Jobs (one per choice) and
// read their events from a Channel.
//
// Contracts:
// - Each step is one step of the engine's batch runner (engine/batch_runner.hpp) over
//   every busy slot: ONE Model::forward_batch, decoding slots feeding their last token,
//   prefilling slots their next prompt chunk within a shared budget of `prefill_chunk`
//   tokens. Queued jobs join free slots between steps. Rows of a batch are computed
//   independently, so a job's tokens do not depend on what it is batched with:
//   temperature-0 results are the same alone or batched (tests: dense and deepseek2).
// - Prefix reuse: a job goes to the free slot whose cached ids share the longest
//   prefix with its prompt (ties: the lowest slot number); that prefix, at most
//   prompt length - 1, is not recomputed (GenerateSummary::cached_tokens).
// - Host prompt cache: when a slot's work ends, a snapshot of what it holds is kept in
//   host RAM (PromptCache, opts.cache_ram bytes); a job whose prompt shares a longer
//   prefix with a snapshot than with its slot (by at least 16 tokens) has the snapshot's
//   prefix copied into the slot first, so it is not recomputed either.
// - submit() takes all of a request's jobs or none: it refuses when the queue
//   would exceed max_queue (queue_full) or while draining (shutting_down).
// - A job whose channel's cancel flag is set ends (finish "cancelled") before the
//   next step; a queued one without ever taking a slot.
// - Every job gets exactly one done event, after its token events.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/batch_runner.hpp"
#include "engine/speculation.hpp"
#include "engine/generate.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"
#include "serve/metrics.hpp"
#include "serve/prompt_cache.hpp"

namespace r1::serve {

// Events of one HTTP request's jobs, in the order the worker produced them.
class Channel {
 public:
  struct Item {
    int32_t index = 0;         // the job's choice index
    GenerateEvent ev;          // ev.summary is null; see `summary` for done events
    GenerateSummary summary;   // ev.kind == done: the job's final summary
    std::string error;         // ev.kind == done: non-empty when the job failed inside the engine
    bool in_reasoning = false; // ev.kind == token: the output is inside the reasoning after it
  };

  void push(Item item);
  // Moves pending items into `out` (appending); waits up to timeout_ms when there
  // are none. Returns whether anything was moved.
  bool wait(std::vector<Item>& out, int timeout_ms);

  std::atomic<bool> cancel{false};  // set by the HTTP side: the client is gone

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
};

struct Job {
  std::unique_ptr<Generation> gen;  // prepared and checked by the HTTP thread
  int32_t index = 0;                // choice index within its request
  std::shared_ptr<Channel> channel;
  double t_arrival = 0;             // now_seconds() when the request arrived
};

struct SchedulerOptions {
  int32_t n_slots = 1;
  int64_t n_ctx = 4096;         // per slot
  int32_t max_queue = 64;       // jobs waiting for a slot
  int32_t prefill_chunk = 512;  // prompt tokens per step, over all prefilling slots
  size_t cache_ram = 0;         // bytes of the host-RAM prompt cache (prompt_cache.hpp); 0: none
  SpeculationOptions speculation;  // per slot (batch_runner.hpp); a draft model drafts for the first model only
};

class Scheduler {
 public:
  // Allocates the slots' caches (throws r1::Error when they do not fit) and starts the worker.
  Scheduler(Model& model, const SchedulerOptions& opts, Metrics& metrics);
  ~Scheduler();  // cancels everything left and joins the worker

  enum class Submit { ok, queue_full, shutting_down };
  Submit submit(std::vector<std::unique_ptr<Job>> jobs);

  void begin_drain();               // refuse new jobs from now on
  bool wait_idle(double timeout_s); // true when no job is queued or running
  void cancel_all();                // every queued and running job ends "cancelled"

  SchedulerGauges gauges() const;
  // The tokens and KV of an idle slot, or the slot replaced by a snapshot (slot_files.hpp
  // does the files). Throws ApiError: 404 for no such slot, 409 while it is generating
  // (or a snapshot that does not fit it: 400).
  Session::Snapshot save_slot(int32_t id);
  void restore_slot(int32_t id, const Session::Snapshot& snap);
  void erase_slot(int32_t id);
  double mean_job_seconds() const;  // recent average job duration (Retry-After estimates)
  const SchedulerOptions& options() const { return opts_; }

 private:
  struct Slot;
  void run();
  void admit_locked();
  Session& idle_slot_locked(int32_t id);
  void step();
  void complete(Slot& s, const std::string& error = {});  // the job's generation has ended

  Model& model_;
  SchedulerOptions opts_;
  Metrics& metrics_;
  std::vector<std::unique_ptr<Slot>> slots_;  // (n_slots)

  mutable std::mutex mu_;
  std::condition_variable cv_;      // work arrived, or stop
  std::condition_variable idle_cv_; // a job completed
  std::deque<std::unique_ptr<Job>> queue_;
  int32_t busy_ = 0;                // slots with a job (under mu_)
  bool draining_ = false, stop_ = false;
  std::atomic<bool> cancel_all_{false};
  double mean_job_s_ = 1.0;         // exponential average (under mu_)
  PromptCache cache_;               // under mu_
  int64_t cache_hits_ = 0, cache_tokens_ = 0;  // under mu_
  std::thread worker_;
  BatchRunner runner_;              // worker only
};

}  // namespace r1::serve
