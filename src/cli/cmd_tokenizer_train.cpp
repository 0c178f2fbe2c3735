// r1 tokenizer train: learn a byte-level BPE vocabulary (with the R1 special
// tokens) from text or JSONL corpora; save it as a vocabulary-only GGUF or as a
// Hugging Face tokenizer.json (+ tokenizer_config.json beside it).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "train/bpe_trainer.hpp"

namespace r1::cli {
namespace {

struct TokTrainOptions {
  std::vector<std::string> corpus;
  std::string out, pre = "deepseek-r1-qwen", template_file;
  int32_t vocab_size = 512, min_frequency = 2;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot read '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every string inside a JSON value (message contents, reasoning, questions...).
void collect_strings(const nlohmann::json& j, std::vector<std::string>* out) {
  if (j.is_string()) out->push_back(j.get<std::string>());
  else if (j.is_array() || j.is_object())
    for (const auto& e : j) collect_strings(e, out);
}

int run_tokenizer_train(const TokTrainOptions& o) {
  std::vector<std::string> docs;
  for (const std::string& path : o.corpus) {
    const std::string text = read_file(path);
    if (std::filesystem::path(path).extension() == ".jsonl") {
      std::istringstream in(text);
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
          collect_strings(nlohmann::json::parse(line), &docs);
        } catch (const nlohmann::json::exception& e) {
          fail("{}:{}: invalid JSON: {}", path, n, e.what());
        }
      }
    } else {
      docs.push_back(text);
    }
  }
  train::BpeTrainOptions bo;
  bo.vocab_size = o.vocab_size;
  bo.min_frequency = o.min_frequency;
  bo.pre = o.pre;
  if (!o.template_file.empty()) bo.chat_template = read_file(o.template_file);
  const VocabData v = train::train_bpe(docs, bo);
  const std::string ext = std::filesystem::path(o.out).extension().string();
  if (ext == ".gguf") train::save_vocab_gguf(v, o.out);
  else if (ext == ".json") train::save_hf_tokenizer(v, o.out);
  else fail("--out must end in .gguf (vocabulary-only GGUF) or .json (tokenizer.json)");
  fmt::print(stderr, "r1: {} tokens ({} merges) from {} documents -> {}\n", v.tokens.size(), v.merges.size(),
             docs.size(), o.out);
  return 0;
}

const bool registered = register_command({
    .name = "tokenizer",
    .help = "tokenizer tools (train: learn a byte-level BPE vocabulary)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<TokTrainOptions>();
      sub.require_subcommand(1);
      CLI::App* train = sub.add_subcommand("train", "learn a byte-level BPE vocabulary with the R1 special tokens");
      train->add_option("--corpus", o->corpus, "text files, or .jsonl files (every string value is a document)")
          ->required();
      train->add_option("-o,--out", o->out, "output: .gguf (vocabulary only) or tokenizer .json")->required();
      train->add_option("--vocab-size", o->vocab_size, "total tokens incl. 256 bytes and 6 specials")
          ->capture_default_str();
      train->add_option("--min-frequency", o->min_frequency, "stop when the best pair occurs fewer times")
          ->capture_default_str();
      train->add_option("--pre", o->pre, "pre-tokenizer the vocabulary is used with")->capture_default_str();
      train->add_option("--chat-template", o->template_file, "Jinja chat template file to store with it");
      return [o] { return run_tokenizer_train(*o); };
    }});

}  // namespace
}  // namespace r1::cli
