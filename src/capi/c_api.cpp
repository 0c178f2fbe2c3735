// The C API (include/r1/r1.h): every entry point catches all exceptions and
// turns them into a return value plus r1_last_error().
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "r1/r1.h"
#include "r1/r1.hpp"

struct r1_model {
  std::unique_ptr<r1::Engine> engine;
};

namespace {

// Per-thread error text: the C convention (errno-like); not shared state.
thread_local std::string t_last_error;

template <class F>
auto guarded(F&& f, decltype(f()) on_error) -> decltype(f()) {
  try {
    t_last_error.clear();
    return f();
  } catch (const std::bad_alloc&) {
    t_last_error = "out of memory";
  } catch (const std::exception& e) {
    t_last_error = e.what();
  } catch (...) {
    t_last_error = "unknown error";
  }
  return on_error;
}

}  // namespace

extern "C" {

r1_model_params r1_model_default_params(void) { return r1_model_params{0, 0, 0}; }

r1_gen_params r1_gen_default_params(void) {
  r1::Engine::Request d;
  r1_gen_params p{};
  p.temperature = d.temperature;
  p.top_p = d.top_p;
  p.top_k = d.top_k;
  p.min_p = d.min_p;
  p.repeat_penalty = d.repeat_penalty;
  p.seed = d.seed;
  p.max_tokens = d.max_tokens;
  p.no_think = d.no_think ? 1 : 0;
  p.think_budget = d.think_budget;
  p.stop = nullptr;
  p.n_stop = 0;
  return p;
}

r1_model* r1_model_open(const char* path, const r1_model_params* params) {
  return guarded(
      [&]() -> r1_model* {
        if (!path) throw std::invalid_argument("r1_model_open: path is NULL");
        r1_model_params p = params ? *params : r1_model_default_params();
        auto engine = r1::Engine::open(
            path, r1::Engine::Options{.n_threads = p.n_threads, .n_ctx = p.n_ctx, .allow_paging = p.allow_paging != 0});
        return new r1_model{std::move(engine)};
      },
      nullptr);
}

void r1_model_free(r1_model* model) { delete model; }

int32_t r1_tokenize(r1_model* model, const char* text, int32_t add_bos, int32_t parse_special, int32_t* ids,
                    int32_t capacity) {
  return guarded(
      [&]() -> int32_t {
        if (!model || !text) throw std::invalid_argument("r1_tokenize: model or text is NULL");
        auto v = model->engine->tokenize(text, add_bos != 0, parse_special != 0);
        const auto n = static_cast<int32_t>(v.size());
        if (ids && n <= capacity) std::memcpy(ids, v.data(), v.size() * sizeof(int32_t));
        return n;
      },
      -1);
}

int32_t r1_generate(r1_model* model, const r1_message* messages, size_t n_messages, const r1_gen_params* params,
                    r1_event_fn on_event, void* user_data, r1_stats* stats) {
  return guarded(
      [&]() -> int32_t {
        if (!model) throw std::invalid_argument("r1_generate: model is NULL");
        if (!messages || n_messages == 0) throw std::invalid_argument("r1_generate: no messages");
        const r1_gen_params p = params ? *params : r1_gen_default_params();
        r1::Engine::Request req;
        for (size_t i = 0; i < n_messages; ++i) {
          if (!messages[i].role || !messages[i].content)
            throw std::invalid_argument("r1_generate: message " + std::to_string(i) + " has a NULL field");
          req.messages.push_back({messages[i].role, messages[i].content});
        }
        req.temperature = p.temperature;
        req.top_p = p.top_p;
        req.top_k = p.top_k;
        req.min_p = p.min_p;
        req.repeat_penalty = p.repeat_penalty;
        req.seed = p.seed;
        req.max_tokens = p.max_tokens;
        req.no_think = p.no_think != 0;
        req.think_budget = p.think_budget;
        for (size_t i = 0; i < p.n_stop; ++i)
          if (p.stop && p.stop[i]) req.stop.emplace_back(p.stop[i]);

        r1::Engine& engine = *model->engine;
        std::function<void(const r1::Engine::Event&)> cb;
        if (on_event)
          cb = [&](const r1::Engine::Event& ev) {
            const std::string reasoning(ev.reasoning), content(ev.content);  // NUL-terminated copies
            r1_event ce{ev.done ? 1 : 0, ev.token, reasoning.c_str(), content.c_str()};
            if (on_event(&ce, user_data) != 0) engine.cancel();
          };
        r1::Engine::Result r = engine.generate(req, cb);
        if (stats) {
          *stats = r1_stats{};
          stats->prompt_tokens = r.stats.prompt_tokens;
          stats->reasoning_tokens = r.stats.reasoning_tokens;
          stats->content_tokens = r.stats.content_tokens;
          stats->prefill_tokens_per_second = r.stats.prefill_tokens_per_second;
          stats->decode_tokens_per_second = r.stats.decode_tokens_per_second;
          std::strncpy(stats->finish_reason, r.stats.finish_reason.c_str(), sizeof(stats->finish_reason) - 1);
        }
        return 0;
      },
      -1);
}

void r1_cancel(r1_model* model) {
  if (model) model->engine->cancel();
}

const char* r1_last_error(void) { return t_last_error.c_str(); }

}  // extern "C"
