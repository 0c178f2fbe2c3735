// Chat template rendering on top of the Jinja subset (see chat_template.hpp).
#include "tokenizer/chat_template.hpp"

#include "base/error.hpp"
#include "tokenizer/jinja.hpp"

namespace r1 {

ChatTemplate::ChatTemplate(const std::string& template_src)
    : tmpl_(std::make_unique<jinja::Template>(template_src)) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra_vars) const {
  if (!messages.is_array()) fail("chat messages must be a JSON array");
  if (!extra_vars.is_null() && !extra_vars.is_object()) fail("chat template variables must be a JSON object");
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
  vars["messages"] = messages;
  vars["add_generation_prompt"] = add_generation_prompt;
  vars["bos_token"] = "";
  vars["eos_token"] = "";
  if (extra_vars.is_object())
    for (const auto& [k, v] : extra_vars.items()) vars[k] = v;
  return tmpl_->render(vars);
}

std::string render_chat(const std::string& template_src, const nlohmann::ordered_json& messages,
                        bool add_generation_prompt, const nlohmann::ordered_json& extra_vars) {
  return ChatTemplate(template_src).render(messages, add_generation_prompt, extra_vars);
}

std::string render_chat(const std::string& template_src, const nlohmann::json& messages, bool add_generation_prompt,
                        const nlohmann::json& extra_vars) {
  return render_chat(template_src, nlohmann::ordered_json(messages), add_generation_prompt,
                     nlohmann::ordered_json(extra_vars));
}

}  // namespace r1
