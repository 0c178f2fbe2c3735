// Reasoning/content splitter: a small state machine over the concatenation of the
// held-back tail and each new piece (see reasoning_parser.hpp for the contract).
#include "engine/reasoning_parser.hpp"

#include <algorithm>
#include <cassert>

namespace r1 {

namespace {

bool is_newline(char c) { return c == '\n' || c == '\r'; }
bool is_space(char c) { return c == ' ' || c == '\t' || is_newline(c); }

// Length of the longest proper prefix of `tag` that `s` ends with.
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  for (size_t k = std::min(s.size(), tag.size() - 1); k > 0; --k)
    if (s.substr(s.size() - k) == tag.substr(0, k)) return k;
  return 0;
}

}  // namespace

ReasoningParser::ReasoningParser(Options opts) : opts_(std::move(opts)), state_(State::start) {
  assert(!opts_.open_tag.empty() && !opts_.close_tag.empty());
}

ReasoningDelta ReasoningParser::push(std::string_view piece) {
  std::string buf = std::move(held_);
  buf.append(piece);
  return step(std::move(buf), false);
}

ReasoningDelta ReasoningParser::flush() { return step(std::move(held_), true); }

ReasoningDelta ReasoningParser::step(std::string buf, bool at_end) {
  ReasoningDelta out;
  held_.clear();
  const bool strip = !opts_.keep_tags;
  const std::string_view open = opts_.open_tag, close = opts_.close_tag;
  std::string_view b = buf;
  size_t pos = 0;  // b[0..pos) is consumed
  for (;;) {
    switch (state_) {
      case State::start: {
        // Optional whitespace, then either the opening tag, a prefix of it (undecided
        // yet), or anything else (no opening tag: the default stream).
        size_t ws = pos;
        while (ws < b.size() && is_space(b[ws])) ++ws;
        const std::string_view rest = b.substr(ws);
        if (rest.substr(0, open.size()) == open) {
          if (!strip) out.reasoning.append(b.substr(pos, ws + open.size() - pos));
          pos = ws + open.size();
          state_ = State::reasoning;
          strip_leading_newlines_ = strip;
          continue;
        }
        if (!at_end && open.substr(0, rest.size()) == rest) {
          held_.assign(b.substr(pos));
          return out;
        }
        state_ = opts_.start_in_reasoning ? State::reasoning : State::content;
        strip_leading_newlines_ = strip && opts_.start_in_reasoning;
        continue;
      }
      case State::reasoning: {
        if (strip_leading_newlines_) {
          while (pos < b.size() && is_newline(b[pos])) ++pos;
          if (pos == b.size()) return out;
          strip_leading_newlines_ = false;
        }
        const size_t tag = b.find(close, pos);
        if (tag != std::string_view::npos) {
          size_t end = tag;
          if (strip)
            while (end > pos && is_newline(b[end - 1])) --end;
          out.reasoning.append(b.substr(pos, end - pos));
          if (!strip) out.reasoning.append(close);
          pos = tag + close.size();
          state_ = State::content;
          closed_ = true;
          strip_leading_newlines_ = strip;
          continue;
        }
        // Hold back a possible partial closing tag and, when stripping, the newlines
        // before it (they are dropped if the tag follows).
        size_t hold = at_end ? b.size() : b.size() - partial_tag_suffix(b.substr(pos), close);
        size_t end = hold;
        if (strip)
          while (end > pos && is_newline(b[end - 1])) --end;
        out.reasoning.append(b.substr(pos, end - pos));
        if (!at_end) held_.assign(b.substr(end));
        return out;
      }
      case State::content: {
        if (strip_leading_newlines_) {
          while (pos < b.size() && is_newline(b[pos])) ++pos;
          if (pos == b.size()) return out;
          strip_leading_newlines_ = false;
        }
        out.content.append(b.substr(pos));
        return out;
      }
    }
  }
}

}  // namespace r1
