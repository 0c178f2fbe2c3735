// r1 chat: a multi-turn conversation in the terminal. The history goes through
// the chat template each turn (earlier reasoning dropped, as R1 expects); the
// session reuses the common prefix so only the new turn is prefilled.
// Ctrl-C stops the current answer; a second Ctrl-C at the prompt (or /exit, or
// end of input) leaves.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "cli/terminal.hpp"
#include "cli/terminal_flags.hpp"
#include "engine/generate.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"

namespace r1::cli {
namespace {

struct ChatOptions {
  GenFlags gen;
  bool verbose = false;
};

enum class ReadStatus { line, eof, interrupted };

// Reads one line from stdin without the trailing newline. A SIGINT during the
// read gives `interrupted` (the SigintCatcher makes read() return EINTR).
ReadStatus read_line(std::string& out) {
  out.clear();
  char* buf = nullptr;
  size_t cap = 0;
  errno = 0;
  ssize_t n = getline(&buf, &cap, stdin);
  const int err = errno;
  if (n >= 0) out.assign(buf, static_cast<size_t>(n));
  std::free(buf);
  if (n < 0) {
    const bool intr = err == EINTR;
    clearerr(stdin);
    return intr ? ReadStatus::interrupted : ReadStatus::eof;
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return ReadStatus::line;
}

nlohmann::json base_messages(const GenFlags& gen) {
  nlohmann::json m = nlohmann::json::array();
  if (!gen.system.empty()) m.push_back({{"role", "system"}, {"content", gen.system}});
  return m;
}

int run_chat(const ChatOptions& o) {
  check_gen_flags(o.gen);
  const std::string model_path = resolve_model(o.gen.model);
  auto model = Model::load(model_path, ModelOptions{.n_threads = o.gen.threads, .allow_paging = o.gen.allow_paging});
  const int64_t n_ctx = o.gen.ctx > 0 ? o.gen.ctx : default_context_length(model->config());
  Session session(*model, n_ctx);
  const LoadedSpeculation spec = load_speculation(
      o.gen.spec, *model, ModelOptions{.n_threads = o.gen.threads, .allow_paging = o.gen.allow_paging});
  const bool interactive = stdin_is_tty();
  const bool color = use_color();

  std::atomic<bool> cancel{false};
  SigintCatcher sigint(&cancel);
  nlohmann::json messages = base_messages(o.gen);
  if (interactive)
    std::fprintf(stderr, "r1 chat: %s, context %lld. /exit or Ctrl-D to leave, /clear to start over.\n",
                 model_path.c_str(), static_cast<long long>(n_ctx));

  std::string line;
  int interrupts_at_prompt = 0;
  for (;;) {
    if (interactive) {
      std::fputs(color ? "\x1b[1m> \x1b[0m" : "> ", stdout);
      std::fflush(stdout);
    }
    sigint.reset();
    ReadStatus st = read_line(line);
    if (st == ReadStatus::interrupted || (st == ReadStatus::eof && sigint.count() > 0)) {
      if (++interrupts_at_prompt >= 2) {
        std::fputc('\n', stdout);
        break;
      }
      std::fputs("\n(press Ctrl-C again or type /exit to leave)\n", stdout);
      continue;
    }
    if (st == ReadStatus::eof) {
      if (interactive) std::fputc('\n', stdout);
      break;
    }
    interrupts_at_prompt = 0;
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/clear") {
      messages = base_messages(o.gen);
      session.clear();
      std::fputs("(conversation cleared)\n", stdout);
      continue;
    }

    messages.push_back({{"role", "user"}, {"content", line}});
    GenerateRequest req;
    apply_gen_flags(o.gen, req);
    req.speculation = spec.options;
    req.messages = messages;
    cancel.store(false);
    req.cancel = &cancel;
    StreamPrinter printer({.color = color});
    GenerateResult r;
    try {
      r = generate(session, req, [&](const GenerateEvent& ev) { printer.on_event(ev); });
    } catch (const Error& e) {
      // A turn that cannot run (e.g. the history outgrew the context) is reported,
      // not fatal: the user can /clear and go on.
      printer.finish();
      messages.erase(messages.end() - 1);
      std::fprintf(stderr, "r1: %s\n", e.what());
      continue;
    }
    printer.finish();
    if (r.summary.finish == FinishReason::cancelled) std::fputs("(stopped)\n", stdout);
    if (o.verbose) std::fprintf(stderr, "%s\n", summary_line(r.summary).c_str());
    if (r.summary.finish == FinishReason::cancelled && r.content.empty())
      messages.erase(messages.end() - 1);  // nothing answered: forget the question
    else
      messages.push_back({{"role", "assistant"}, {"content", r.content}});
  }
  return 0;
}

const bool registered = register_command({
    .name = "chat",
    .help = "talk with a model in the terminal (multi-turn; Ctrl-C stops an answer)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<ChatOptions>();
      add_gen_flags(sub, o->gen);
      sub.add_flag("-v,--verbose", o->verbose, "print token counts and speed after each answer");
      return [o] { return run_chat(*o); };
    }});

}  // namespace
}  // namespace r1::cli
