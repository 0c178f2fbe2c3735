#include "train/checkpoint.hpp"

#include <cstring>

#include "base/error.hpp"
#include "format/gguf.hpp"

namespace r1::train {

void save_checkpoint(const std::string& path, const ModelMeta& meta, const ParamLayout& layout, const float* params,
                     const AdamW& opt, const nlohmann::json& run) {
  gguf::Writer w;
  write_model_metadata(w, meta, FileType::f32);
  w.set("r1.train.step", gguf::Value::from_u64(static_cast<uint64_t>(opt.steps_done())));
  w.set("r1.train.run", gguf::Value::from_string(run.dump()));
  add_param_tensors(w, layout, params, FileType::f32);
  add_param_tensors(w, layout, opt.m().data(), FileType::f32, "adam.m.");
  add_param_tensors(w, layout, opt.v().data(), FileType::f32, "adam.v.");
  w.write(path);
}

Checkpoint load_checkpoint(const std::string& path) {
  Checkpoint c;
  c.model = import_gguf(path);
  std::unique_ptr<gguf::File> file = gguf::File::open(path);
  const gguf::Metadata& md = file->metadata();
  if (!md.has("r1.train.step")) fail("{}: not a training checkpoint (no r1.train.step)", path);
  c.step = md.get_int("r1.train.step");
  try {
    c.run = nlohmann::json::parse(md.get_string_or("r1.train.run", "{}"));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: r1.train.run is not valid JSON: {}", path, e.what());
  }
  const ParamLayout layout(c.model.meta.cfg);
  c.m.assign(layout.size(), 0.0f);
  c.v.assign(layout.size(), 0.0f);
  for (const ParamSpec& s : layout.specs())
    for (auto [prefix, dst] : {std::pair{"adam.m.", &c.m}, std::pair{"adam.v.", &c.v}}) {
      const std::string name = prefix + s.name;
      const gguf::TensorInfo* t = file->find_tensor(name);
      if (!t || t->type != DType::F32 || t->shape != s.shape)
        fail("{}: missing or misshaped optimizer tensor '{}'", path, name);
      std::memcpy(dst->data() + s.offset, t->data, static_cast<size_t>(s.numel()) * sizeof(float));
    }
  return c;
}

}  // namespace r1::train
