// Terminal output for the interactive front ends (run, chat): the reasoning
// shown apart from the answer, the one-line summary, and Ctrl-C handling.
//
// Contracts:
// - StreamPrinter writes reasoning and answer text to stdout as it arrives.
//   With color (stdout is a TTY and NO_COLOR is unset or empty) the reasoning is
//   ANSI-dim; without color it is plain, framed by "Thinking..." and
//   "...done thinking." lines on stderr. A blank line separates the reasoning
//   from the answer on stdout. stdout is flushed before anything goes to stderr,
//   so the two interleave correctly on one terminal.
// - SigintCatcher: while alive, SIGINT sets the given cancel flag and counts
//   (it does not kill the process); blocking reads on stdin return EINTR. The
//   previous handler is restored on destruction. One at a time per process.
#pragma once
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "engine/generate.hpp"

namespace r1::cli {

bool stdout_is_tty();
bool stdin_is_tty();
// stdout is a TTY and NO_COLOR is unset or empty.
bool use_color();

class StreamPrinter {
 public:
  struct Options {
    bool color = false;
    bool show_reasoning = true;
  };
  explicit StreamPrinter(Options opts) : opts_(opts) {}
  // Prints the deltas of one event (any kind).
  void on_event(const GenerateEvent& ev);
  // Ends an open reasoning section and the last line; call once per answer.
  void finish();

 private:
  void write_out(const std::string& s);
  void begin_reasoning();
  void end_reasoning();

  Options opts_;
  bool in_reasoning_ = false;
  bool wrote_any_ = false;
  char last_ = '\n';
};

// "reasoning 120 tokens, answer 35 tokens | prefill 85.2 tok/s | decode 18.3 tok/s | stop"
std::string summary_line(const GenerateSummary& s);

class SigintCatcher {
 public:
  explicit SigintCatcher(std::atomic<bool>* cancel);
  ~SigintCatcher();
  SigintCatcher(const SigintCatcher&) = delete;
  SigintCatcher& operator=(const SigintCatcher&) = delete;
  int count() const;  // SIGINTs since construction or reset()
  void reset();

 private:
  struct sigaction old_ {};  // the handler to restore
};

}  // namespace r1::cli
