// Chat templates: renders a model's Jinja chat_template (tokenizer.chat_template in
// GGUF, chat_template in tokenizer_config.json) for a list of messages.
//
// Contract:
// - The template is rendered like Hugging Face transformers / @huggingface/jinja do:
//   trim_blocks and lstrip_blocks on, one trailing newline of the template dropped.
//   Variables: messages, add_generation_prompt, bos_token, eos_token (both "" unless
//   given in extra_vars), plus every key of extra_vars (tools, enable_thinking, ...;
//   extra_vars may override bos_token/eos_token). Functions: raise_exception, range,
//   namespace, strftime_now.
// - Object key order is kept as given (use ordered_json to keep the caller's order;
//   the nlohmann::json overloads see keys sorted, as nlohmann::json stores them).
// - A syntax error, a construct outside the supported subset, or a runtime error
//   (raise_exception, an undefined operation) throws r1::Error naming the problem
//   and the template line.
// See src/tokenizer/jinja.hpp for the supported language subset.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace r1 {

namespace jinja {
class Template;
}

class ChatTemplate {
 public:
  // Parses once (throws r1::Error on a syntax error); render() may be called
  // concurrently from several threads.
  explicit ChatTemplate(const std::string& template_src);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra_vars = nlohmann::ordered_json::object()) const;

 private:
  std::unique_ptr<jinja::Template> tmpl_;
};

std::string render_chat(const std::string& template_src, const nlohmann::ordered_json& messages,
                        bool add_generation_prompt,
                        const nlohmann::ordered_json& extra_vars = nlohmann::ordered_json::object());
std::string render_chat(const std::string& template_src, const nlohmann::json& messages, bool add_generation_prompt,
                        const nlohmann::json& extra_vars);

}  // namespace r1
