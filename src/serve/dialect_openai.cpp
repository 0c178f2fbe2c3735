#include "serve/dialect.hpp"

namespace r1::serve {

namespace {

using nlohmann::json;

std::string event(const json& j) { return "data: " + dump(j) + "\n\n"; }

class OpenAiDialect final : public Dialect {
 public:
  explicit OpenAiDialect(bool chat) : chat_(chat) {}

  std::string stream_begin(const ResponseContext& ctx, size_t n_choices) override {
    std::string s;
    if (chat_)  // OpenAI's first chunk of each choice carries the role
      for (size_t i = 0; i < n_choices; ++i) s += event(chat_chunk(ctx, static_cast<int32_t>(i), EventDelta{}, "", true));
    return s;
  }

  std::string stream_delta(const ResponseContext& ctx, int32_t index, const EventDelta& d) override {
    return chat_ ? event(chat_chunk(ctx, index, d, "", false)) : event(completion_chunk(ctx, index, d.content, d.logprobs, ""));
  }

  std::string stream_finish(const ResponseContext& ctx, int32_t index, const ChoiceOutput& c) override {
    const std::string finish = finish_reason_text(c);
    return chat_ ? event(chat_chunk(ctx, index, EventDelta{}, finish, false))
                 : event(completion_chunk(ctx, index, "", nullptr, finish));
  }

  std::string stream_end(const ResponseContext& ctx, const std::vector<ChoiceOutput>& out, bool include_usage,
                         const ApiError* error) override {
    std::string s;
    if (error) s += event(error->to_json());
    else if (include_usage) s += event(usage_chunk(ctx, out));
    return s + "data: [DONE]\n\n";
  }

  json response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& out, bool logprobs) override {
    return chat_ ? chat_response(ctx, out, logprobs) : completion_response(ctx, out, logprobs);
  }

 private:
  bool chat_;
};

}  // namespace

std::unique_ptr<Dialect> openai_dialect(bool chat) { return std::make_unique<OpenAiDialect>(chat); }

}  // namespace r1::serve
