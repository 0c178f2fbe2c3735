#include "cli/terminal.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fmt/format.h>

namespace r1::cli {

namespace {

constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";

// A signal handler can only reach state through statics: the flag it sets and
// the number of SIGINTs. Owned by the one live SigintCatcher.
std::atomic<std::atomic<bool>*> g_cancel_flag{nullptr};
std::atomic<int> g_sigint_count{0};

extern "C" void on_sigint(int) {
  g_sigint_count.fetch_add(1);
  if (auto* flag = g_cancel_flag.load()) flag->store(true);
}

}  // namespace

bool stdout_is_tty() { return isatty(STDOUT_FILENO) == 1; }
bool stdin_is_tty() { return isatty(STDIN_FILENO) == 1; }

bool use_color() {
  const char* nc = std::getenv("NO_COLOR");
  return stdout_is_tty() && (nc == nullptr || *nc == '\0');
}

void StreamPrinter::write_out(const std::string& s) {
  if (s.empty()) return;
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
  last_ = s.back();
  wrote_any_ = true;
}

void StreamPrinter::begin_reasoning() {
  in_reasoning_ = true;
  if (opts_.color) {
    std::fputs(kDim, stdout);
  } else {
    std::fflush(stdout);
    std::fputs("Thinking...\n", stderr);
    std::fflush(stderr);
  }
}

void StreamPrinter::end_reasoning() {
  in_reasoning_ = false;
  if (last_ != '\n') write_out("\n");
  if (opts_.color) {
    std::fputs(kReset, stdout);
    std::fflush(stdout);
  } else {
    std::fflush(stdout);
    std::fputs("...done thinking.\n", stderr);
    std::fflush(stderr);
  }
}

void StreamPrinter::on_event(const GenerateEvent& ev) {
  if (!ev.reasoning.empty() && opts_.show_reasoning) {
    if (!in_reasoning_) begin_reasoning();
    write_out(ev.reasoning);
  }
  if (!ev.content.empty()) {
    if (in_reasoning_) {
      end_reasoning();
      write_out("\n");  // blank line between reasoning and answer
    }
    write_out(ev.content);
  }
}

void StreamPrinter::finish() {
  if (in_reasoning_) end_reasoning();
  if (wrote_any_ && last_ != '\n') write_out("\n");
  wrote_any_ = false;
  last_ = '\n';
}

std::string summary_line(const GenerateSummary& s) {
  std::string spec;
  if (s.draft_tokens > 0)
    spec = fmt::format(" | drafts {}/{} accepted ({:.0f} %)", s.draft_accepted, s.draft_tokens,
                       100.0 * s.draft_accepted / s.draft_tokens);
  return fmt::format("reasoning {} tokens, answer {} tokens | prefill {:.1f} tok/s | decode {:.1f} tok/s{} | {}",
                     s.reasoning_tokens, s.content_tokens, s.prefill_tps(), s.decode_tps(), spec,
                     finish_reason_name(s.finish));
}

SigintCatcher::SigintCatcher(std::atomic<bool>* cancel) {
  g_cancel_flag.store(cancel);
  g_sigint_count.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read on stdin returns EINTR
  sigaction(SIGINT, &sa, &old_);
}

SigintCatcher::~SigintCatcher() {
  sigaction(SIGINT, &old_, nullptr);
  g_cancel_flag.store(nullptr);
}

int SigintCatcher::count() const { return g_sigint_count.load(); }
void SigintCatcher::reset() { g_sigint_count.store(0); }

}  // namespace r1::cli
