// Training checkpoints: one GGUF file holding the model (F32, readable by
// import_gguf like any model file; Model::load runs it too, warning about the
// extra tensors), the AdamW moments as tensors
// "adam.m.<name>" / "adam.v.<name>", the number of optimizer steps done
// (r1.train.step) and the caller's run state as JSON (r1.train.run: options, data
// cursor, anything needed to continue).
//
// Contract: save_checkpoint() writes atomically (temp file + rename), so an
// interrupted save leaves the previous checkpoint intact. Loading gives back
// exactly the saved floats, so a resumed run continues bit-identically.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/model_io.hpp"
#include "train/optimizer.hpp"

namespace r1::train {

void save_checkpoint(const std::string& path, const ModelMeta& meta, const ParamLayout& layout, const float* params,
                     const AdamW& opt, const nlohmann::json& run);

struct Checkpoint {
  LoadedModel model;
  std::vector<float> m, v;  // AdamW moments, same layout as model.params
  int64_t step = 0;         // optimizer steps done
  nlohmann::json run;
};
// Throws r1::Error when the file is not a checkpoint or does not match its layout.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace r1::train
