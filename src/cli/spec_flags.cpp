#include "cli/spec_flags.hpp"

#include "base/error.hpp"
#include "cli/terminal_flags.hpp"

namespace r1::cli {

void add_spec_flags(CLI::App& sub, SpecFlags& f) {
  sub.add_option("--spec", f.mode,
                 "speculative decoding: none, ngram (look the last tokens up in the text so far) or draft "
                 "(a smaller model, --draft); the same tokens, fewer steps");
  sub.add_option("--draft,--model-draft", f.draft_model,
                 "draft model for --spec draft (same vocabulary, e.g. the 1.5B distill for the 7B-32B ones)");
  sub.add_option("--draft-max", f.draft_max, "most tokens drafted per step")->capture_default_str();
  sub.add_option("--draft-min", f.draft_min, "fewer drafted tokens than this are not verified")->capture_default_str();
  sub.add_option("--draft-p-min", f.draft_p_min, "draft model: stop drafting below this probability")
      ->capture_default_str();
  sub.add_option("--spec-ngram-min", f.ngram_min, "n-gram mode: shortest suffix looked up")->capture_default_str();
  sub.add_option("--spec-ngram-max", f.ngram_max, "n-gram mode: longest suffix looked up")->capture_default_str();
}

LoadedSpeculation load_speculation(const SpecFlags& f, const Model& target, const ModelOptions& load) {
  LoadedSpeculation out;
  SpeculationOptions& o = out.options;
  if (f.mode.empty()) o.mode = f.draft_model.empty() ? SpecMode::none : SpecMode::draft;
  else o.mode = parse_spec_mode(f.mode);
  if (o.mode != SpecMode::draft && !f.draft_model.empty()) fail("--draft needs --spec draft (or no --spec)");
  o.draft_max = f.draft_max;
  o.draft_min = f.draft_min;
  o.draft_p_min = f.draft_p_min;
  o.ngram_min = f.ngram_min;
  o.ngram_max = f.ngram_max;
  if (o.mode == SpecMode::draft) {
    if (f.draft_model.empty()) fail("--spec draft needs a draft model (--draft FILE)");
    out.draft = Model::load(resolve_model_name(f.draft_model), load);
    try {
      check_draft_model(target, *out.draft);
    } catch (const std::exception& ex) {
      fail("--draft {}: {}", f.draft_model, ex.what());
    }
    o.draft_model = out.draft.get();
  }
  o.validate();
  return out;
}

}  // namespace r1::cli
