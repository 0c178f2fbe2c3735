// r1::Engine (include/r1/r1.hpp): forwards to Model, Session and generate().
#include <atomic>

#include "base/error.hpp"
#include "engine/chat_format.hpp"
#include "engine/generate.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"
#include "r1/r1.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

struct Engine::Impl {
  std::unique_ptr<Model> model;
  std::unique_ptr<Session> session;
  std::atomic<bool> cancel{false};
};

namespace {

nlohmann::json to_json(const std::vector<Engine::Message>& messages) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& m : messages) j.push_back({{"role", m.role}, {"content", m.content}});
  return j;
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::open(const std::string& path, const Options& options) {
  auto impl = std::make_unique<Impl>();
  impl->model = Model::load(path, ModelOptions{.n_threads = options.n_threads, .allow_paging = options.allow_paging});
  const int64_t n_ctx = options.n_ctx > 0 ? options.n_ctx : default_context_length(impl->model->config());
  impl->session = std::make_unique<Session>(*impl->model, n_ctx);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

std::unique_ptr<Engine> Engine::open(const std::string& path) { return open(path, Options{}); }

std::vector<int32_t> Engine::tokenize(std::string_view text, bool add_bos, bool parse_special) const {
  return impl_->model->tokenizer().encode(text, add_bos, parse_special);
}

std::string Engine::detokenize(const std::vector<int32_t>& ids) const {
  const Tokenizer& tok = impl_->model->tokenizer();
  for (int32_t id : ids)
    if (id < 0 || id >= tok.n_vocab()) fail("token id {} is out of range (the vocabulary has {} tokens)", id, tok.n_vocab());
  return sanitize_utf8(tok.decode(ids));
}

std::string Engine::render_chat(const std::vector<Message>& messages, bool add_generation_prompt) const {
  return format_chat(impl_->model->tokenizer(), to_json(messages), add_generation_prompt);
}

Engine::Result Engine::generate(const Request& request, const std::function<void(const Event&)>& on_event) {
  GenerateRequest req;
  if (!request.messages.empty())
    req.messages = to_json(request.messages);
  else
    req.prompt_text = request.prompt;
  req.sampling.temperature = request.temperature;
  req.sampling.top_p = request.top_p;
  req.sampling.top_k = request.top_k;
  req.sampling.min_p = request.min_p;
  req.sampling.repeat_penalty = request.repeat_penalty;
  req.sampling.seed = request.seed;
  req.max_tokens = request.max_tokens;
  req.stop = request.stop;
  req.no_think = request.no_think;
  req.think_budget = request.think_budget;
  impl_->cancel.store(false);
  req.cancel = &impl_->cancel;

  GenerateCallback cb;
  if (on_event)
    cb = [&](const GenerateEvent& ev) {
      Event out;
      out.done = ev.kind == GenerateEvent::Kind::done;
      out.token = ev.token;
      out.reasoning = ev.reasoning;
      out.content = ev.content;
      on_event(out);
    };
  GenerateResult r = r1::generate(*impl_->session, req, cb);
  Result out;
  out.tokens = std::move(r.tokens);
  out.reasoning = std::move(r.reasoning);
  out.content = std::move(r.content);
  const GenerateSummary& s = r.summary;
  out.stats = Stats{.prompt_tokens = s.prompt_tokens,
                    .cached_tokens = s.cached_tokens,
                    .reasoning_tokens = s.reasoning_tokens,
                    .content_tokens = s.content_tokens,
                    .prefill_tokens_per_second = s.prefill_tps(),
                    .decode_tokens_per_second = s.decode_tps(),
                    .finish_reason = finish_reason_name(s.finish)};
  return out;
}

Engine::Result Engine::generate(const Request& request) { return generate(request, {}); }

void Engine::cancel() { impl_->cancel.store(true); }
void Engine::reset() { impl_->session->clear(); }
int64_t Engine::n_ctx() const { return impl_->session->n_ctx(); }
int32_t Engine::n_vocab() const { return static_cast<int32_t>(impl_->model->config().n_vocab); }
std::string Engine::architecture() const { return arch_name(impl_->model->config().arch); }

}  // namespace r1
