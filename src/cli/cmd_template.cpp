// r1 template: render a chat template for a conversation (what the model sees).
//
//   r1 template -m model.gguf --messages conv.json            (tokenizer.chat_template)
//   r1 template --template-file t.jinja --messages conv.json [--no-gen-prompt]
//   r1 template --template-file t.jinja --batch --messages convs.jsonl
//
// --messages: a JSON array of messages, or an object {"messages": [...], ...}
// whose other keys become template variables (tools, enable_thinking, ...); "-"
// reads stdin. The rendered prompt goes to stdout with no newline added.
// --batch: one conversation per input line (same two forms; an object may also
// set "add_generation_prompt"); one JSON line per conversation on stdout:
// {"text": "..."} or {"error": "..."} (a failing line does not stop the batch).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "format/gguf.hpp"
#include "tokenizer/chat_template.hpp"

namespace r1::cli {
namespace {

using ojson = nlohmann::ordered_json;

struct TemplateOptions {
  std::string model;          // -m
  std::string template_file;  // --template-file
  std::string messages = "-"; // --messages
  std::string vars;           // --vars: a JSON object file
  bool no_gen_prompt = false;
  bool batch = false;
  std::string bos, eos;
  bool bos_set = false, eos_set = false;
};

std::string read_all(const std::string& path, const char* what) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {} '{}'", what, path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("cannot read {} '{}'", what, path);
  return ss.str();
}

ojson parse_json(const std::string& text, const std::string& where) {
  try {
    return ojson::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: invalid JSON: {}", where, e.what());
  }
}

// The special-token text for a GGUF id key, or "" when absent.
std::string special_token(const gguf::Metadata& md, const char* id_key) {
  const gguf::Value* id = md.find(id_key);
  const gguf::Value* tokens = md.find("tokenizer.ggml.tokens");
  if (!id || !tokens || tokens->type != gguf::ValueType::ARRAY) return "";
  const int64_t i = id->as_i64(id_key);
  if (i < 0 || size_t(i) >= tokens->arr.size()) fail("{} = {} is outside the vocabulary", id_key, i);
  return tokens->arr[size_t(i)].as_string("tokenizer.ggml.tokens");
}

struct Job {
  ojson messages;
  ojson vars = ojson::object();
  bool add_generation_prompt = true;
};

Job to_job(const ojson& j, bool default_gen_prompt, const std::string& where) {
  Job job;
  job.add_generation_prompt = default_gen_prompt;
  if (j.is_array()) {
    job.messages = j;
    return job;
  }
  if (!j.is_object() || !j.contains("messages"))
    fail("{}: expected a JSON array of messages or an object with \"messages\"", where);
  for (const auto& [k, v] : j.items()) {
    if (k == "messages") job.messages = v;
    else if (k == "add_generation_prompt") {
      if (!v.is_boolean()) fail("{}: add_generation_prompt must be true or false", where);
      job.add_generation_prompt = v.get<bool>();
    } else job.vars[k] = v;
  }
  if (!job.messages.is_array()) fail("{}: \"messages\" must be an array", where);
  return job;
}

int run_template(const TemplateOptions& o) {
  if (o.model.empty() == o.template_file.empty()) fail("give exactly one of -m MODEL.gguf or --template-file FILE");
  std::string source, bos, eos;
  if (!o.model.empty()) {
    auto file = gguf::File::open(o.model);
    const gguf::Metadata& md = file->metadata();
    if (!md.has("tokenizer.chat_template")) fail("'{}' has no tokenizer.chat_template", o.model);
    source = md.get_string("tokenizer.chat_template");
    bos = special_token(md, "tokenizer.ggml.bos_token_id");
    eos = special_token(md, "tokenizer.ggml.eos_token_id");
  } else {
    source = read_all(o.template_file, "template file");
  }
  if (o.bos_set) bos = o.bos;
  if (o.eos_set) eos = o.eos;
  const ChatTemplate tmpl(source);

  ojson base_vars = ojson::object();
  base_vars["bos_token"] = bos;
  base_vars["eos_token"] = eos;
  if (!o.vars.empty()) {
    ojson v = parse_json(read_all(o.vars, "variables file"), o.vars);
    if (!v.is_object()) fail("{}: the variables must be a JSON object", o.vars);
    for (const auto& [k, x] : v.items()) base_vars[k] = x;
  }
  auto render = [&](const Job& job) {
    ojson vars = base_vars;
    for (const auto& [k, x] : job.vars.items()) vars[k] = x;
    return tmpl.render(job.messages, job.add_generation_prompt, vars);
  };

  const std::string input = read_all(o.messages, "messages file");
  if (!o.batch) {
    const std::string text = render(to_job(parse_json(input, o.messages), !o.no_gen_prompt, o.messages));
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return 0;
  }
  std::istringstream lines(input);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ojson out = ojson::object();
    try {
      const std::string where = fmt::format("{} line {}", o.messages, n);
      out["text"] = render(to_job(parse_json(line, where), !o.no_gen_prompt, where));
    } catch (const Error& e) {
      out = ojson::object();
      out["error"] = e.what();
    }
    const std::string s = out.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  std::fflush(stdout);
  return 0;
}

const bool registered = register_command({
    .name = "template",
    .help = "render a chat template for a conversation (the exact prompt text the model sees)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<TemplateOptions>();
      sub.add_option("-m,--model", o->model, "GGUF model: use its tokenizer.chat_template and BOS/EOS tokens");
      sub.add_option("--template-file", o->template_file, "a Jinja chat template file");
      sub.add_option("--messages", o->messages,
                     "JSON messages (array, or object with \"messages\" and variables); - = stdin")
          ->default_str("-");
      sub.add_option("--vars", o->vars, "JSON object file of extra template variables (tools, enable_thinking, ...)");
      sub.add_flag("--no-gen-prompt", o->no_gen_prompt, "render without the assistant generation prompt");
      sub.add_flag("--batch", o->batch, "JSONL in (one conversation per line), JSONL out ({\"text\"} or {\"error\"})");
      sub.add_option_function<std::string>(
          "--bos", [o](const std::string& s) { o->bos = s, o->bos_set = true; }, "bos_token text (overrides the model's)");
      sub.add_option_function<std::string>(
          "--eos", [o](const std::string& s) { o->eos = s, o->eos_set = true; }, "eos_token text (overrides the model's)");
      return [o] { return run_template(*o); };
    }});

}  // namespace
}  // namespace r1::cli
