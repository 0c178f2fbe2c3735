// Supervised fine-tuning (distillation from reasoning traces).
//
// Data: OpenAI-messages JSONL (train/sft_data.hpp), loss = mean negative
// log-likelihood of the assistant's tokens. Each optimizer step takes whole
// examples, in an order shuffled per epoch from the seed, until batch_tokens are
// reached; forward/backward run in micro-batches of at most micro_tokens and
// accumulate gradients.
//
// Outputs: the model (GGUF, export type per options), a checkpoint (written every
// save_every steps and at the end, atomically), the curves as CSV and SVG.
// Contract: --resume continues from the checkpoint exactly as if the run had not
// stopped (same data order, bit-identical parameters), at any thread count.
#pragma once
#include <cstdint>
#include <string>

#include "train/model_io.hpp"
#include "train/optimizer.hpp"
#include "train/run.hpp"

namespace r1::train {

struct SftOptions {
  std::string data;              // training JSONL
  std::string val_data;          // validation JSONL; empty = hold out val_fraction of data
  double val_fraction = 0.02;
  int64_t max_val_examples = 256;
  std::string out;               // output model .gguf
  ModelInit init;
  int64_t steps = 1000;          // optimizer steps in total (the schedule's length)
  int64_t batch_tokens = 8192;   // tokens per optimizer step
  int64_t micro_tokens = 4096;   // tokens per forward/backward
  AdamWConfig opt;               // total_steps is set from steps
  int threads = 0;
  uint64_t seed = 1;             // data order
  int64_t log_every = 10;
  int64_t eval_every = 100;
  int64_t save_every = 200;
  bool resume = false;
  bool resume_force = false;     // resume even when the fingerprint differs (train/fingerprint.hpp)
  bool model_given = true;       // false: no --init / --dims given, the model is the checkpoint's
                                 // (not compared on resume)
  FileType export_type = FileType::f32;
  std::string checkpoint;        // default: <out>.ckpt.gguf
  double max_seconds = 0;        // stop early (checkpoint + export) after this long; 0 = no limit
};

struct SftResult {
  int64_t steps = 0;             // optimizer steps done in total
  double last_loss = 0;          // mean train loss over the last log window
  double val_loss = 0;           // last validation loss (NaN if none)
};

SftResult run_sft(const SftOptions& o, const LogFn& log);

}  // namespace r1::train
