// r1 tokenize / r1 detokenize: text <-> token ids with a model's tokenizer (a
// GGUF file's metadata, weights not loaded) or a Hugging Face tokenizer.json.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "format/gguf.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::cli {
namespace {

using nlohmann::json;

struct TokOptions {
  std::string model;      // .gguf file (or a directory / .json: treated as --tokenizer)
  std::string tokenizer;  // tokenizer.json
  bool no_special = false, no_bos = false, json = false, jsonl = false, stats = false;
  int repeat = 1;  // --stats: encode the input this many times, report the best
};

std::unique_ptr<Tokenizer> load(const TokOptions& o) {
  if (o.model.empty() == o.tokenizer.empty()) fail("give exactly one of -m/--model and --tokenizer");
  if (!o.tokenizer.empty()) return Tokenizer::from_hf_json(o.tokenizer);
  namespace fs = std::filesystem;
  if (fs::is_directory(o.model)) return Tokenizer::from_hf_json((fs::path(o.model) / "tokenizer.json").string());
  if (fs::path(o.model).extension() == ".json") return Tokenizer::from_hf_json(o.model);
  auto file = gguf::File::open(o.model);
  return Tokenizer::from_gguf(file->metadata());
}

std::string read_stdin() {
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) s.append(buf, n);
  return s;
}

json parse_line(const std::string& line, size_t lineno) {
  try {
    return json::parse(line);
  } catch (const json::exception& e) {
    fail("stdin line {}: invalid JSON: {}", lineno, e.what());
  }
}

// A --jsonl input line: a JSON string, or {"bytes": [0..255, ...]} for raw bytes
// (which may be invalid UTF-8).
std::string line_text(const json& j, size_t lineno) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("bytes") && j["bytes"].is_array()) {
    std::string s;
    for (const auto& b : j["bytes"]) {
      if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 255)
        fail("stdin line {}: \"bytes\" must hold integers 0..255", lineno);
      s.push_back(static_cast<char>(b.get<int>()));
    }
    return s;
  }
  fail("stdin line {}: expected a JSON string or {{\"bytes\": [...]}}", lineno);
}

std::vector<int32_t> ids_from_json(const json& j, const Tokenizer& t, size_t lineno) {
  if (!j.is_array()) fail("stdin line {}: expected a JSON array of token ids", lineno);
  std::vector<int32_t> ids;
  for (const auto& v : j) {
    if (!v.is_number_integer()) fail("stdin line {}: token ids must be integers", lineno);
    const int64_t id = v.get<int64_t>();
    if (id < 0 || id >= t.n_vocab())
      fail("stdin line {}: token id {} is out of range (vocabulary has {} tokens)", lineno, id, t.n_vocab());
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

template <class F>
void for_each_line(F&& f) {
  std::string line;
  size_t lineno = 0;
  while (std::getline(std::cin, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    f(line, lineno);
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of the calling thread (immune to time slicing on a busy machine).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int run_tokenize(const TokOptions& o) {
  const auto t_load = std::chrono::steady_clock::now();
  auto tok = load(o);
  const double load_s = seconds_since(t_load);
  const auto encode = [&](const std::string& text) { return tok->encode(text, !o.no_bos, !o.no_special); };
  if (o.jsonl) {
    for_each_line([&](const std::string& line, size_t lineno) {
      const json ids = encode(line_text(parse_line(line, lineno), lineno));
      std::fputs(ids.dump().c_str(), stdout);
      std::fputc('\n', stdout);
    });
    return 0;
  }
  const std::string text = read_stdin();
  std::vector<int32_t> ids;
  // The first call finds the tokenizer's word cache empty; later ones reuse it.
  double best = 1e30, best_cpu = 1e30, first = 0;
  for (int r = 0; r < std::max(1, o.repeat); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    ids = encode(text);
    best_cpu = std::min(best_cpu, thread_cpu_seconds() - c0);
    best = std::min(best, seconds_since(t0));
    if (r == 0) first = seconds_since(t0);
  }
  if (o.stats)
    std::fprintf(stderr,
                 "tokenize: %zu bytes -> %zu tokens in %.2f ms (%.1f MB/s; thread CPU time %.2f ms, %.1f MB/s; "
                 "best of %d); first call %.2f ms (%.1f MB/s); load %.0f ms\n",
                 text.size(), ids.size(), best * 1e3, text.size() / best / 1e6, best_cpu * 1e3,
                 text.size() / best_cpu / 1e6, std::max(1, o.repeat), first * 1e3, text.size() / first / 1e6,
                 load_s * 1e3);
  if (o.json) {
    std::puts(json(ids).dump().c_str());
  } else {
    for (int32_t id : ids) std::printf("%d\n", id);
  }
  return 0;
}

int run_detokenize(const TokOptions& o) {
  auto tok = load(o);
  if (o.jsonl) {
    for_each_line([&](const std::string& line, size_t lineno) {
      const std::string text = tok->decode(ids_from_json(parse_line(line, lineno), *tok, lineno));
      std::fputs(json(text).dump(-1, ' ', false, json::error_handler_t::replace).c_str(), stdout);
      std::fputc('\n', stdout);
    });
    return 0;
  }
  const std::string in = read_stdin();
  const std::string text = tok->decode(ids_from_json(parse_line(in, 1), *tok, 1));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

void add_source_options(CLI::App& sub, TokOptions& o) {
  sub.add_option("-m,--model", o.model, "GGUF model file (its tokenizer metadata only), or a tokenizer.json / HF directory");
  sub.add_option("--tokenizer", o.tokenizer, "Hugging Face tokenizer.json (tokenizer_config.json beside it is read too)");
}

const bool registered_tokenize = register_command({
    .name = "tokenize",
    .help = "text on stdin -> token ids (one per line; --json: a JSON array; --jsonl: batch mode)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<TokOptions>();
      add_source_options(sub, *o);
      sub.add_flag("--no-special", o->no_special, "do not match control tokens such as <｜begin▁of▁sentence｜> in the text");
      sub.add_flag("--no-bos", o->no_bos, "do not add BOS (it is added only when the model asks for it)");
      sub.add_flag("--json", o->json, "print the ids as one JSON array instead of one id per line");
      sub.add_flag("--jsonl", o->jsonl,
                   "batch mode: each stdin line is a JSON string (or {\"bytes\":[...]} for raw, possibly invalid "
                   "UTF-8); prints one JSON array of ids per line");
      sub.add_flag("--stats", o->stats, "print bytes, tokens, encode time and MB/s to stderr");
      sub.add_option("--repeat", o->repeat, "with --stats: encode the input N times and report the fastest")
          ->check(CLI::Range(1, 1000));
      sub.footer(
          "Invalid UTF-8 in the input is replaced by U+FFFD (one per maximal invalid subsequence) before "
          "tokenizing.");
      return [o] { return run_tokenize(*o); };
    }});

const bool registered_detokenize = register_command({
    .name = "detokenize",
    .help = "a JSON array of token ids on stdin -> the text they stand for",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<TokOptions>();
      add_source_options(sub, *o);
      sub.add_flag("--jsonl", o->jsonl,
                   "batch mode: each stdin line is a JSON array of ids; prints one JSON string per line "
                   "(bytes that are not valid UTF-8 become U+FFFD)");
      sub.footer("Without --jsonl the raw bytes are written, special tokens as their text.");
      return [o] { return run_detokenize(*o); };
    }});

}  // namespace
}  // namespace r1::cli
