// What a resumed training run must share with the run that wrote its checkpoint.
//
// A fingerprint maps a name ("data", "seed", "model", "steps", ...) to a printable
// identity: files by their size and a 64-bit hash of their contents (file_identity),
// numbers and option lists by their text. SFT and GRPO store theirs in the
// checkpoint's run JSON ("fingerprint") and, on --resume, compare it with the one
// of the current options (check_resume_fingerprint): every item present in both must
// be equal, or the resume is refused with an r1::Error that names each item that
// differs, with both values. `force` (--resume-force) turns the refusal into a
// warning per item. An item the current run leaves out (e.g. "model" when the
// command names no model and takes it from the checkpoint) is not compared; a
// checkpoint without a fingerprint (written before they existed) resumes with a
// warning.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "train/optimizer.hpp"
#include "train/run.hpp"

namespace r1::train {

using Fingerprint = std::map<std::string, std::string>;

// "<size> bytes, hash <16 hex digits>" of the file's contents. Throws r1::Error
// naming the path when it cannot be read.
std::string file_identity(const std::string& path);

// The schedule and update rule (total_steps excluded: the runs store "steps").
std::string optimizer_identity(const AdamWConfig& c);
// A new model (no init_path): architecture, dimensions, tokenizer file, chat template
// and initialisation seed; a model file: its file_identity.
std::string model_identity(const ModelInit& init);

nlohmann::json fingerprint_json(const Fingerprint& f);

// Compares run["fingerprint"] (the checkpoint's) with `now`; see the contract above.
void check_resume_fingerprint(const nlohmann::json& run, const Fingerprint& now, const std::string& ckpt_path,
                              bool force, const LogFn& log);

}  // namespace r1::train
