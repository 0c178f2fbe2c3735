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

// The names are every tokenizer.ggml.pre that llama.cpp (llama-vocab.cpp) maps
// to the same regex sequence with the same tokenizer flags (ignore_merges, BOS
// default) as the canonical one.
//
// llama.cpp runs a pattern without \p{..} as std::wregex over the text with
// every non-ASCII White_Space code point replaced by U+000B, so a literal
// non-ASCII class range never matches white space even where the range spans
// it (U+0800-U+4E00 spans U+1680, U+2000..U+3000; U+3000-U+3002 starts at
// U+3000); "(?![{WS}])" in front of such a class reproduces that. Its "$" is the
// end of the piece: \z here (PCRE's $ would also match before a final newline).
std::vector<PreDef> definitions() {
  const std::string ci(kContractionsCi), tail(kWhitespaceTail);
  // CJK Unified Ideographs up to U+9FA5, U+0800..U+4E00, Hangul syllables and jamo up to U+D7FF.
  // (?:...)++ : possessive, so that a long run needs no backtracking frames (the
  // pattern ends there, so it matches what the greedy form matches).
  const std::string cjk_hangul = R"((?:(?![{WS}])[\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}])++)";
  return {
      // Qwen2 / R1-Distill-Qwen (tokenizer.json: one Split + ByteLevel).
      {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open"},
       {ci + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^{WS}\p{L}\p{N}]+[\r\n]*|)" + tail}},
      // Qwen3.5: as qwen2, but letter runs take combining marks (\p{M}) too.
      {{"qwen35"},
       {ci + R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^{WS}\p{L}\p{M}\p{N}]+[\r\n]*|)" + tail}},
      // Llama-3 / R1-Distill-Llama: as qwen2 but digits in groups of up to three.
      {{"llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"},
       {ci + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^{WS}\p{L}\p{N}]+[\r\n]*|)" + tail}},
      // DeepSeek-V3 / R1: digits (1-3), then runs of CJK ideographs and kana, then words.
      {{"deepseek-v3", "hunyuan-dense", "joyai-llm"},
       {R"(\p{N}{1,3})",
        R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|)" +
            tail}},
      // DeepSeek LLM (V1 7B/67B): CR and LF alone; runs of cased letters (Latin,
      // Greek, Cyrillic, Armenian, Georgian, Cherokee, Glagolitic, Coptic, Deseret,
      // Osage, Old Hungarian, Warang Citi, Adlam, fullwidth Latin), each with one
      // optional white space before; the same for ASCII and fullwidth punctuation,
      // quotes and U+3001/U+3002; white space at the end of a piece; runs of CJK
      // and Hangul (and everything from U+0800 to U+4E00); then number runs.
      {{"deepseek-llm"},
       {R"([\r\n])",
        R"([{WS}]?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF})"
        R"(\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5})"
        R"(\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA})"
        R"(\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
        R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4})"
        R"(\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC})"
        R"(\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126})"
        R"(\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184})"
        R"(\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B})"
        R"(\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
        R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2})"
        R"(\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)",
        R"([{WS}]?(?:(?![{WS}])[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}])++)",
        // \s+$; the look-behind (no white space before) only keeps it linear: the
        // leftmost match starts there anyway.
        R"((?<![{WS}])[{WS}]+\z)",
        cjk_hangul,
        R"(\p{N}+)"}},
      // DeepSeek Coder: CR and LF alone, letter runs and punctuation runs (one
      // optional white space before), CJK and Hangul runs, single digits.
      {{"deepseek-coder"},
       {R"([\r\n])", R"([{WS}]?\p{L}+)", R"([{WS}]?\p{P}+)", cjk_hangul, R"(\p{N})"}},
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

std::string PreTokenizer::canonical_name(std::string_view name) {
  for (const auto& d : definitions())
    for (auto n : d.names)
      if (n == name) return std::string(d.names[0]);
  return {};
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
