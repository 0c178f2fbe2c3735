// PCRE2-backed pre-tokenizers (see pretokenizer.hpp for the semantics).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.hpp"

#include <pcre2.h>

#include <cassert>

#include "base/error.hpp"

namespace r1::tok {
namespace {

// Contents of a character class equal to Unicode White_Space (see header).
constexpr std::string_view kWs =
    R"(\t\n\x0B\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// The patterns below write "{WS}" where the original has \s inside a class.
constexpr std::string_view kContractionsCi = R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))";
constexpr std::string_view kWhitespaceTail = R"([{WS}]*[\r\n]+|[{WS}]+(?![^{WS}])|[{WS}]+)";

struct PreDef {
  std::vector<std::string_view> names;     // first is canonical
  std::vector<std::string> patterns;       // applied in sequence
};

std::vector<PreDef> definitions() {
  const std::string ci(kContractionsCi), tail(kWhitespaceTail);
  return {
      // Qwen2 / R1-Distill-Qwen (tokenizer.json: one Split + ByteLevel).
      {{"qwen2", "deepseek-r1-qwen"},
       {ci + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^{WS}\p{L}\p{N}]+[\r\n]*|)" + tail}},
      // Llama-3 / R1-Distill-Llama: as qwen2 but digits in groups of up to three.
      {{"llama-bpe", "llama3", "llama-v3"},
       {ci + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^{WS}\p{L}\p{N}]+[\r\n]*|)" + tail}},
      // DeepSeek-V3 / R1: digits (1-3), then runs of CJK ideographs and kana, then words.
      {{"deepseek-v3"},
       {R"(\p{N}{1,3})",
        R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|)" +
            tail}},
      // GPT-2 (the ByteLevel pre-tokenizer's own regex).
      {{"gpt-2", "gpt2"},
       {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^{WS}\p{L}\p{N}]+|[{WS}]+(?![^{WS}])|[{WS}]+)"}},
      // llama.cpp's "default" (used when tokenizer.ggml.pre is missing or "default").
      {{"default"},
       {R"([\p{P}\$\+<=>\^~\|]+)",
        R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^{WS}\p{L}\p{N}]+|[{WS}]+(?![^{WS}]))",
        R"(\p{N}+)", R"([0-9][0-9][0-9])"}},
  };
}

std::string expand_ws(const std::string& p) {
  std::string out;
  size_t i = 0;
  while (true) {
    const size_t j = p.find("{WS}", i);
    out.append(p, i, j == std::string::npos ? std::string::npos : j - i);
    if (j == std::string::npos) break;
    out.append(kWs);
    i = j + 4;
  }
  return out;
}

// Per-thread matching state: match data (one pair of offsets) and a JIT stack
// big enough for long whitespace or punctuation runs.
struct ThreadState {
  pcre2_match_data* md = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* mctx = nullptr;
  ThreadState() {
    md = pcre2_match_data_create(1, nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    mctx = pcre2_match_context_create(nullptr);
    if (!md || !stack || !mctx) throw std::bad_alloc();
    pcre2_jit_stack_assign(mctx, nullptr, stack);
  }
  ~ThreadState() {
    pcre2_match_context_free(mctx);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(md);
  }
};

ThreadState& thread_state() {
  thread_local ThreadState s;
  return s;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  std::string pattern;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string> PreTokenizer::known_names() {
  std::vector<std::string> out;
  for (const auto& d : definitions())
    for (auto n : d.names) out.emplace_back(n);
  return out;
}

std::unique_ptr<PreTokenizer> PreTokenizer::create(std::string_view name) {
  for (const auto& def : definitions()) {
    bool hit = false;
    for (auto n : def.names) hit |= n == name;
    if (!hit) continue;
    std::unique_ptr<PreTokenizer> pt(new PreTokenizer());
    pt->name_ = std::string(def.names[0]);
    for (const auto& raw : def.patterns) {
      auto re = std::make_unique<Regex>();
      re->pattern = expand_ws(raw);
      int err = 0;
      PCRE2_SIZE err_off = 0;
      re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re->pattern.data()), re->pattern.size(),
                               PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
      if (!re->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        fail("pre-tokenizer '{}': cannot compile regex at offset {}: {}", name, err_off,
             reinterpret_cast<const char*>(msg));
      }
      re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
      pt->regexes_.push_back(std::move(re));
    }
    return pt;
  }
  std::string known;
  for (const auto& n : known_names()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown pre-tokenizer '{}' (tokenizer.ggml.pre); known: {}", name, known);
}

namespace {

// Splits text[b, e) by re, appending matches and gaps (Isolated) to *out.
void split_one(const PreTokenizer::Regex& re, std::string_view text, Span piece, std::vector<Span>* out,
               ThreadState& ts) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + piece.begin);
  const PCRE2_SIZE len = piece.end - piece.begin;
  PCRE2_SIZE pos = 0, prev = 0;
  while (pos < len) {
    const int rc = re.jit ? pcre2_jit_match(re.code, subject, len, pos, PCRE2_NO_UTF_CHECK, ts.md, ts.mctx)
                          : pcre2_match(re.code, subject, len, pos, PCRE2_NO_UTF_CHECK, ts.md, ts.mctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      fail("pre-tokenizer regex failed on a piece of {} bytes: {}", len, reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ts.md);
    const PCRE2_SIZE ms = ov[0], me = ov[1];
    if (ms > prev) out->push_back({piece.begin + uint32_t(prev), piece.begin + uint32_t(ms)});
    if (me > ms) {
      out->push_back({piece.begin + uint32_t(ms), piece.begin + uint32_t(me)});
      pos = prev = me;
    } else {
      // Empty match: step over one character (none of our patterns can do this).
      prev = ms;
      pos = ms + 1;
      while (pos < len && (subject[pos] & 0xC0) == 0x80) ++pos;
    }
  }
  if (prev < len) out->push_back({piece.begin + uint32_t(prev), piece.end});
}

}  // namespace

void PreTokenizer::split(std::string_view text, uint32_t base, std::vector<Span>* out) const {
  assert(text.size() < (1u << 31));
  if (text.empty()) return;
  ThreadState& ts = thread_state();
  const size_t first = out->size();
  std::vector<Span> cur{{0, uint32_t(text.size())}}, next;
  for (size_t r = 0; r < regexes_.size(); ++r) {
    const bool last = r + 1 == regexes_.size();
    std::vector<Span>* dst = last ? out : &next;
    next.clear();
    for (const Span& s : cur) split_one(*regexes_[r], text, s, dst, ts);
    if (!last) std::swap(cur, next);
  }
  if (base != 0)
    for (size_t i = first; i < out->size(); ++i) (*out)[i].begin += base, (*out)[i].end += base;
}

}  // namespace r1::tok
