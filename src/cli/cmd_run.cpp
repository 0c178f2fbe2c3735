// r1 run: one prompt, streamed (reasoning apart from the answer), or one JSON
// object with --json.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/log.hpp"
#include "cli/command.hpp"
#include "cli/terminal.hpp"
#include "cli/terminal_flags.hpp"
#include "engine/generate.hpp"
#include "engine/session.hpp"
#include "engine/trace.hpp"
#include "model/model.hpp"

namespace r1::cli {
namespace {

struct RunOptions {
  GenFlags gen;
  std::string prompt;       // -p
  std::string prompt_file;  // -f
  bool raw = false;
  bool json = false;
  std::string trace;
};

std::string read_prompt(const RunOptions& o) {
  if (!o.prompt.empty() && !o.prompt_file.empty()) fail("give either -p TEXT or -f FILE, not both");
  if (!o.prompt.empty()) return o.prompt;
  if (!o.prompt_file.empty()) {
    std::ifstream in(o.prompt_file, std::ios::binary);
    if (!in) fail("cannot read prompt file '{}'", o.prompt_file);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail("cannot read prompt file '{}'", o.prompt_file);
    return ss.str();
  }
  if (!stdin_is_tty()) {
    std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (!s.empty()) return s;
  }
  fail("no prompt: give -p TEXT or -f FILE (or pipe it on stdin)");
}

nlohmann::ordered_json result_json(const GenerateResult& r) {
  const GenerateSummary& s = r.summary;
  nlohmann::ordered_json j;
  j["prompt_tokens"] = r.prompt_tokens;
  j["tokens"] = r.tokens;
  j["text"] = r.text;
  j["reasoning"] = r.reasoning;
  j["content"] = r.content;
  j["finish_reason"] = finish_reason_name(s.finish);
  j["reasoning_tokens"] = s.reasoning_tokens;
  j["content_tokens"] = s.content_tokens;
  j["timings"] = {
      {"prompt_n", s.prefilled_tokens()},     {"prompt_ms", s.prefill_ms},
      {"prompt_per_second", s.prefill_tps()}, {"predicted_n", s.generated_tokens},
      {"predicted_ms", s.decode_ms},          {"predicted_per_second", s.decode_tps()},
      {"grammar_ms", s.grammar_ms},
  };
  if (s.draft_tokens > 0) {
    j["timings"]["draft_n"] = s.draft_tokens;
    j["timings"]["draft_n_accepted"] = s.draft_accepted;
  }
  return j;
}

int run_run(const RunOptions& o) {
  check_gen_flags(o.gen);
  const std::string model_path = resolve_model(o.gen.model);
  if (o.raw && !o.gen.system.empty()) fail("--system cannot be used with --raw (the prompt is used as-is)");
  const std::string prompt = read_prompt(o);

  auto model = Model::load(model_path, ModelOptions{.n_threads = o.gen.threads, .allow_paging = o.gen.allow_paging});
  const int64_t n_ctx = o.gen.ctx > 0 ? o.gen.ctx : default_context_length(model->config());
  if (n_ctx > model->config().n_ctx_train && model->config().n_ctx_train > 0)
    log(LogLevel::warn, "context {} is longer than the model was trained for ({})", n_ctx,
        model->config().n_ctx_train);
  Session session(*model, n_ctx);
  const LoadedSpeculation spec = load_speculation(
      o.gen.spec, *model, ModelOptions{.n_threads = o.gen.threads, .allow_paging = o.gen.allow_paging});

  GenerateRequest req;
  apply_gen_flags(o.gen, req);
  req.speculation = spec.options;
  if (o.raw) {
    req.prompt_text = prompt;
  } else {
    req.messages = nlohmann::json::array();
    if (!o.gen.system.empty()) req.messages.push_back({{"role", "system"}, {"content", o.gen.system}});
    req.messages.push_back({{"role", "user"}, {"content", prompt}});
  }
  std::atomic<bool> cancel{false};
  req.cancel = &cancel;
  SigintCatcher sigint(&cancel);  // Ctrl-C ends the generation; the partial result is still printed
  std::unique_ptr<TraceWriter> trace;
  if (!o.trace.empty()) trace = std::make_unique<TraceWriter>(o.trace);  // fails before any work
  auto record = [&](const GenerateResult& r) {
    if (!trace) return;
    TraceRecord t;
    t.model = model_path;
    t.prompt = o.raw ? nlohmann::ordered_json(prompt) : nlohmann::ordered_json(req.messages);
    t.prompt_text = r.prompt_text;
    t.reasoning = r.reasoning;
    t.content = r.content;
    const GenerateSummary& s = r.summary;
    t.finish_reason = finish_reason_name(s.finish);
    t.prompt_tokens = s.prompt_tokens;
    t.cached_tokens = s.cached_tokens;
    t.reasoning_tokens = s.reasoning_tokens;
    t.content_tokens = s.content_tokens;
    t.generated_tokens = s.generated_tokens;
    t.prefill_ms = s.prefill_ms;
    t.decode_ms = s.decode_ms;
    t.sampling = req.sampling;
    t.seed = s.seed;
    trace->append(t);
  };

  if (o.json) {
    GenerateResult r = generate(session, req, {});
    record(r);
    std::string out = result_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    return 0;
  }

  StreamPrinter printer({.color = use_color()});
  GenerateResult r = generate(session, req, [&](const GenerateEvent& ev) { printer.on_event(ev); });
  printer.finish();
  std::fprintf(stderr, "%s\n", summary_line(r.summary).c_str());
  record(r);
  return 0;
}

const bool registered = register_command({
    .name = "run",
    .help = "generate an answer to one prompt (reasoning shown apart from the answer)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<RunOptions>();
      add_gen_flags(sub, o->gen);
      sub.add_option("-p,--prompt", o->prompt, "prompt text (a user message unless --raw)");
      sub.add_option("-f,--file", o->prompt_file, "read the prompt from a file");
      sub.add_flag("--raw", o->raw, "use the prompt as-is: no chat template (special tokens parsed, BOS per the model)");
      sub.add_flag("--json", o->json, "print one JSON object with the tokens, text and timings at the end");
      sub.add_option("--trace", o->trace, "append the generation to a JSONL trace file");
      return [o] { return run_run(*o); };
    }});

}  // namespace
}  // namespace r1::cli
