// ReasoningParser tests: each case states the expected reasoning/content by hand; the
// parser must produce exactly that for the whole text in one piece, for every split
// into two and three pieces, byte by byte, and for random splits.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/reasoning_parser.hpp"

using r1::ReasoningDelta;
using r1::ReasoningParser;

namespace {

struct Case {
  const char* name;
  bool start_in_reasoning;
  std::string input;
  std::string reasoning;  // expected
  std::string content;    // expected
  bool closed;            // expected reasoning_closed() at the end
};

const std::vector<Case> kCases = {
    {"r1_normal", true, "Let me think.\nOK\n</think>\n\nThe answer is 4.", "Let me think.\nOK", "The answer is 4.", true},
    {"explicit_open_in_reasoning_mode", true, "<think>\nabc\n</think>\n\nxyz", "abc", "xyz", true},
    {"explicit_open", false, "<think>\nabc\n</think>\n\nxyz", "abc", "xyz", true},
    {"no_tags_content", false, "Hello <b>world</b> a<b", "", "Hello <b>world</b> a<b", false},
    {"no_tags_reasoning", true, "just thinking forever", "just thinking forever", "", false},
    {"empty_think", false, "<think>\n\n</think>\n\nAnswer", "", "Answer", true},
    {"empty_think_in_reasoning_mode", true, "<think>\n\n</think>\n\nAnswer", "", "Answer", true},
    {"only_close", true, "</think>", "", "", true},
    {"stray_angles", true, "a < b and c <= d, x</ y </thinking? no</think>\n\nres < 3 </think> again",
     "a < b and c <= d, x</ y </thinking? no", "res < 3 </think> again", true},
    {"whitespace_before_open", false, "\n <think>abc</think>def", "abc", "def", true},
    {"leading_newlines_content_kept", false, "\n\nHello", "", "\n\nHello", false},
    {"not_quite_open_tag", false, "<thinking>hi</think>", "", "<thinking>hi</think>", false},
    {"lone_lt_at_start", false, "<", "", "<", false},
    {"blank_lines_inside", true, "a\n\nb\n</think>c", "a\n\nb", "c", true},
    {"crlf", true, "a\r\n</think>\r\n\r\nb", "a", "b", true},
    {"truncated_partial_tag", true, "abc</thi", "abc</thi", "", false},
    {"truncated_trailing_newlines", true, "abc\n\n", "abc", "", false},
    {"content_newlines_inside_kept", true, "r</think>\n\nline1\n\nline2\n", "r", "line1\n\nline2\n", true},
    {"unicode", true, "思考：2+2=4 🤔\n</think>\n\n答案是 **4**。", "思考：2+2=4 🤔", "答案是 **4**。", true},
    {"empty_output", true, "", "", "", false},
    {"empty_output_content_mode", false, "", "", "", false},
    {"tag_then_nothing", true, "x</think>", "x", "", true},
    {"double_open", true, "<think><think>x</think>y", "<think>x", "y", true},
};

struct Result {
  std::string reasoning, content;
  bool closed = false;
};

Result run(const Case& c, const std::vector<std::string>& pieces, bool keep_tags = false) {
  ReasoningParser::Options o;
  o.start_in_reasoning = c.start_in_reasoning;
  o.keep_tags = keep_tags;
  ReasoningParser p(o);
  Result r;
  auto add = [&](const ReasoningDelta& d) {
    // Reasoning never arrives after content has started.
    if (!d.reasoning.empty()) {
      EXPECT_TRUE(r.content.empty()) << c.name;
    }
    r.reasoning += d.reasoning;
    r.content += d.content;
  };
  for (const auto& piece : pieces) add(p.push(piece));
  add(p.flush());
  r.closed = p.reasoning_closed();
  return r;
}

void check(const Case& c, const std::vector<std::string>& pieces, const std::string& how) {
  Result r = run(c, pieces);
  ASSERT_EQ(r.reasoning, c.reasoning) << c.name << " split " << how;
  ASSERT_EQ(r.content, c.content) << c.name << " split " << how;
  ASSERT_EQ(r.closed, c.closed) << c.name << " split " << how;
}

}  // namespace

TEST(ReasoningParser, WholeInput) {
  for (const auto& c : kCases) check(c, {c.input}, "whole");
}

TEST(ReasoningParser, EverySplitIntoTwo) {
  for (const auto& c : kCases)
    for (size_t i = 0; i <= c.input.size(); ++i) check(c, {c.input.substr(0, i), c.input.substr(i)}, std::to_string(i));
}

TEST(ReasoningParser, EverySplitIntoThree) {
  for (const auto& c : kCases)
    for (size_t i = 0; i <= c.input.size(); ++i)
      for (size_t j = i; j <= c.input.size(); ++j)
        check(c, {c.input.substr(0, i), c.input.substr(i, j - i), c.input.substr(j)},
              std::to_string(i) + "," + std::to_string(j));
}

TEST(ReasoningParser, ByteByByteAndRandomSplits) {
  std::mt19937 gen(11);
  for (const auto& c : kCases) {
    std::vector<std::string> bytes;
    for (char ch : c.input) bytes.emplace_back(1, ch);
    check(c, bytes, "bytes");
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<std::string> pieces;
      size_t pos = 0;
      while (pos < c.input.size()) {
        size_t len = std::uniform_int_distribution<size_t>(0, 4)(gen);  // empty pieces too
        pieces.push_back(c.input.substr(pos, len));
        pos += len;
      }
      check(c, pieces, "random");
    }
  }
}

TEST(ReasoningParser, KeepTagsIsLossless) {
  for (const auto& c : kCases)
    for (size_t i = 0; i <= c.input.size(); ++i) {
      Result r = run(c, {c.input.substr(0, i), c.input.substr(i)}, /*keep_tags=*/true);
      EXPECT_EQ(r.reasoning + r.content, c.input) << c.name << " split " << i;
    }
  // And the tags go with the reasoning.
  Case c{"keep", false, "<think>\na\n</think>\n\nb", "", "", true};
  Result r = run(c, {c.input}, true);
  EXPECT_EQ(r.reasoning, "<think>\na\n</think>");
  EXPECT_EQ(r.content, "\n\nb");
}

TEST(ReasoningParser, EmitsWithoutNeedlessDelay) {
  ReasoningParser p;  // start_in_reasoning
  EXPECT_EQ(p.push("Hello wor").reasoning, "Hello wor");
  EXPECT_TRUE(p.in_reasoning());
  auto d = p.push("ld </");  // "</" might start the closing tag: held
  EXPECT_EQ(d.reasoning, "ld ");
  d = p.push("b>");  // not a tag after all
  EXPECT_EQ(d.reasoning, "</b>");
  d = p.push(" done\n");  // trailing newline held (it might precede </think>)
  EXPECT_EQ(d.reasoning, " done");
  d = p.push("</think>");
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(p.in_reasoning());
  EXPECT_TRUE(p.reasoning_closed());
  d = p.push("\n\n");
  EXPECT_TRUE(d.empty());
  d = p.push("Answer");
  EXPECT_EQ(d.content, "Answer");
  EXPECT_EQ(p.push("\n").content, "\n");
  EXPECT_TRUE(p.flush().empty());
}

TEST(ReasoningParser, ContentModeDecidesAtFirstNonTagCharacter) {
  ReasoningParser::Options o;
  o.start_in_reasoning = false;
  ReasoningParser p(o);
  EXPECT_TRUE(p.push("<th").empty());  // could still be <think>
  auto d = p.push("e");                // "<the": not the tag
  EXPECT_EQ(d.content, "<the");
  EXPECT_FALSE(p.in_reasoning());
}

TEST(ReasoningParser, CustomTags) {
  ReasoningParser::Options o;
  o.start_in_reasoning = false;
  o.open_tag = "<|begin_of_thought|>";
  o.close_tag = "<|end_of_thought|>";
  ReasoningParser p(o);
  std::string in = "<|begin_of_thought|>\nhmm <| x\n<|end_of_thought|>\n\nok";
  std::string r, c;
  for (char ch : in) {
    auto d = p.push(std::string(1, ch));
    r += d.reasoning;
    c += d.content;
  }
  auto d = p.flush();
  r += d.reasoning;
  c += d.content;
  EXPECT_EQ(r, "hmm <| x");
  EXPECT_EQ(c, "ok");
}
