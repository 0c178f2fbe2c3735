// Splits a model's output text stream into reasoning and content.
// Contract: push() takes decoded text pieces in order (any split, including inside
// a tag) and returns the newly-known reasoning/content text; tags themselves are
// never emitted (unless keep_tags). A tag split across pieces is held back until it
// is decided. Handles: the prompt already opened <think> (start_in_reasoning, the
// normal R1 case, where only </think> appears), an explicit <think> at the start of
// the output, an empty "<think>\n\n</think>", and output with no tags at all
// (all content when not starting in reasoning). Leading newlines right after
// </think> are not part of the content (R1 puts "\n\n" there); likewise newlines
// at the very start and end of the reasoning are dropped, so "<think>\n\n</think>"
// yields empty reasoning. Whitespace before an opening <think> at the start of the
// output is dropped with the tag. Only the first </think> closes the reasoning;
// later tags are content. keep_tags: lossless mode, nothing is dropped (tags and
// newlines are emitted, the tags as reasoning), so reasoning + content, concatenated
// in arrival order, equals the input.
#pragma once
#include <string>
#include <string_view>

namespace r1 {

struct ReasoningDelta {
  std::string reasoning;
  std::string content;
  bool empty() const { return reasoning.empty() && content.empty(); }
};

class ReasoningParser {
 public:
  struct Options {
    bool start_in_reasoning = true;
    std::string open_tag = "<think>";
    std::string close_tag = "</think>";
    bool keep_tags = false;
  };
  ReasoningParser() : ReasoningParser(Options{}) {}
  explicit ReasoningParser(Options opts);

  ReasoningDelta push(std::string_view piece);
  ReasoningDelta flush();  // end of stream: releases anything held back
  bool in_reasoning() const { return state_ == State::reasoning; }
  bool reasoning_closed() const { return closed_; }

 private:
  enum class State { start, reasoning, content };
  Options opts_;
  State state_;
  bool closed_ = false;
  bool strip_leading_newlines_ = false;  // of the current stream (reasoning or content)
  std::string held_;                     // undecided tail: partial tag, trailing newlines

  ReasoningDelta step(std::string buf, bool at_end);
};

}  // namespace r1
