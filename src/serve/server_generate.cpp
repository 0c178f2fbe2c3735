// POST /v1/chat/completions and /v1/completions: validate, prepare one
// Generation per choice, queue them, then stream (SSE) or collect the events.
//
// Exception safety: nothing thrown while answering ends the process. Before the
// jobs are queued, ApiError is the answer and a JSON library exception a 400 (the
// parsers should have named the field; this is the last line). After, the SSE
// content provider runs outside cpp-httplib's try block (an escaping exception
// would terminate the process), so it catches everything itself: the request's
// jobs are cancelled, the error is logged, and the stream ends with an
// OpenAI-shaped error event and [DONE]. The non-streaming path does the same
// with a 500 body. The release callback cannot throw.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/timing.hpp"
#include "engine/tool_calls.hpp"
#include "grammar/gbnf.hpp"
#include "serve/anthropic_api.hpp"
#include "serve/connection.hpp"
#include "serve/dialect.hpp"
#include "serve/ollama_api.hpp"
#include "serve/responses_api.hpp"
#include "serve/http_front.hpp"
#include "serve/server.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::serve {

using nlohmann::json;

namespace {

void send_error(httplib::Response& res, const ApiError& e, const Dialect& d) {
  res.status = e.status;
  res.set_content(dump(d.error_body(e)), "application/json");
}

constexpr int kPollMs = 50;         // how often a waiting handler looks at its connection
constexpr double kProbeEvery = 0.2;  // seconds between connection checks while events flow

// Everything one generation request needs after the handler returned (streaming).
struct Exchange {
  ResponseContext ctx;
  std::unique_ptr<Dialect> dialect;
  Lease model;  // keeps the model (and its scheduler) alive until the answer is sent
  bool stream = false, include_usage = false, logprobs = false;
  std::shared_ptr<Channel> channel;
  std::vector<ChoiceOutput> out;
  std::vector<std::string> open_tags;  // raw format: what goes in front, per choice
  size_t remaining = 0;                // choices not done yet
  std::string error;                   // an engine failure, if any
  bool cancelled = false;              // some choice ended "cancelled" (shutdown)
  int fd = -1;                         // the client's socket (-1: unknown)
  double last_probe = 0;

  // Applies one event; appends SSE text for it when streaming.
  void consume(Channel::Item& it, std::string* sse) {
    ChoiceOutput& c = out[static_cast<size_t>(it.index)];
    const bool done = it.ev.kind == GenerateEvent::Kind::done;
    EventDelta d = apply_event(ctx, c, it.ev, it.in_reasoning, open_tags[static_cast<size_t>(it.index)], logprobs);
    if (done) {
      c.done = true;
      c.summary = it.summary;
      --remaining;
      if (!it.error.empty()) error = it.error;
      if (it.summary.finish == FinishReason::cancelled) cancelled = true;
    }
    if (!sse) return;
    const bool has = !d.reasoning.empty() || !d.content.empty() || !d.logprobs.is_null() || !d.tool_calls.is_null();
    if (has) *sse += dialect->stream_delta(ctx, it.index, d);
    if (done && it.error.empty() && it.summary.finish != FinishReason::cancelled)
      *sse += dialect->stream_finish(ctx, it.index, c);
  }

  // The end of a stream: an error event if the work failed or was cancelled by a
  // shutdown, else (OpenAI) the usage chunk when asked for; then what closes the stream.
  std::string tail() const {
    if (!error.empty() || cancelled) {
      const ApiError e = !error.empty() ? ApiError(500, "generation failed: " + error, "server_error")
                                        : ApiError(503, "the server is shutting down", "server_error", "", "server_shutting_down");
      return dialect->stream_end(ctx, out, include_usage, &e);
    }
    return dialect->stream_end(ctx, out, include_usage, nullptr);
  }

  // Streams everything the jobs produce into `sink` (the chunked content provider's
  // body; may throw). Returns false when the client is gone (its work cancelled).
  bool stream_to(httplib::DataSink& sink) {
    std::string sse = dialect->stream_begin(ctx, out.size());
    std::vector<Channel::Item> items;
    for (;;) {
      if (!sse.empty()) {
        if (!sink.write(sse.data(), sse.size())) {
          channel->cancel = true;
          return false;
        }
        sse.clear();
      }
      if (remaining == 0) break;
      items.clear();
      const bool got = channel->wait(items, kPollMs);
      if (client_gone(!got)) {
        channel->cancel = true;
        return false;
      }
      for (auto& it : items) consume(it, &sse);
    }
    sse = tail();
    if (!sink.write(sse.data(), sse.size())) return false;
    sink.done();
    return true;
  }

  // After an exception while answering: cancels the request's remaining work and
  // logs; the caller sends the returned error. Never throws.
  ApiError failed(const char* what) noexcept {
    channel->cancel = true;
    try {
      log(LogLevel::error, "{} {}: internal error while answering: {}", ctx.chat ? "chat" : "completion", ctx.id, what);
      return ApiError(500, fmt::format("internal error while generating: {}", what), "server_error");
    } catch (...) {
      return ApiError(500, "internal error while generating", "server_error");
    }
  }

  // True when the client is known to be gone (checked at most every kProbeEvery s).
  bool client_gone(bool force) {
    const double now = now_seconds();
    if (!force && now - last_probe < kProbeEvery) return false;
    last_probe = now;
    return peer_closed(fd);
  }
};

// Non-streaming: waits for every choice, then answers with the whole body.
void collect(Exchange& x, httplib::Response& res) {
  std::vector<Channel::Item> items;
  while (x.remaining > 0) {
    items.clear();
    const bool got = x.channel->wait(items, kPollMs);
    if (x.client_gone(!got)) {
      x.channel->cancel = true;
      res.status = 499;  // nginx's "client closed request": only the metrics see it
      return;
    }
    for (auto& it : items) x.consume(it, nullptr);
  }
  if (!x.error.empty()) {
    send_error(res, ApiError(500, "generation failed: " + x.error, "server_error"), *x.dialect);
    return;
  }
  if (x.cancelled) {
    send_error(res, ApiError(503, "the server is shutting down", "server_error", "", "server_shutting_down"), *x.dialect);
    return;
  }
  const json body = x.dialect->response(x.ctx, x.out, x.logprobs);
  res.status = 200;
  res.set_content(dump(body), "application/json");
}

}  // namespace

void Server::handle_generate(const httplib::Request& req, httplib::Response& res, const std::string& wire, GenerateApi kind) {
  const double t_arrival = now_seconds();
  auto ex = std::make_shared<Exchange>();
  bool chat = kind != GenerateApi::openai_completions;
  switch (kind) {
    case GenerateApi::openai_chat:
    case GenerateApi::openai_completions: ex->dialect = openai_dialect(chat); break;
    case GenerateApi::anthropic_messages: ex->dialect = anthropic_dialect(); break;
    case GenerateApi::openai_responses: ex->dialect = responses_dialect(); break;
    case GenerateApi::ollama_chat: ex->dialect = ollama_dialect(false); break;
    case GenerateApi::ollama_generate: ex->dialect = ollama_dialect(true); break;
  }
  try {
    if (draining_) throw ApiError(503, "the server is shutting down", "server_error", "", "server_shutting_down");
    // Other APIs are translated into the OpenAI body the parsers read.
    std::string translated;
    if (kind == GenerateApi::anthropic_messages) translated = anthropic_to_chat(wire);
    else if (kind == GenerateApi::openai_responses) translated = responses_to_chat(wire);
    else if (kind == GenerateApi::ollama_chat) translated = ollama_chat_to_openai(wire);
    else if (kind == GenerateApi::ollama_generate) translated = ollama_generate_to_openai(wire, &chat);
    const std::string& raw = translated.empty() ? wire : translated;
    json body = parse_body(raw);
    // The model the request names ("" = the first; ollama's ":latest" is the same model).
    std::string model_name;
    if (body.is_object() && body.contains("model") && body["model"].is_string()) model_name = body["model"].get<std::string>();
    const bool ollama = kind == GenerateApi::ollama_chat || kind == GenerateApi::ollama_generate;
    if (ollama && model_name.size() > 7 && model_name.compare(model_name.size() - 7, 7, ":latest") == 0)
      model_name.resize(model_name.size() - 7);
    ex->model = pool_->acquire(model_name);
    ServedModel& served = *ex->model;
    // The model's request defaults (ModelSpec::sampling) fill fields the request leaves out.
    if (body.is_object())
      for (auto it = served.spec.sampling.begin(); it != served.spec.sampling.end(); ++it)
        if (!body.contains(it.key()) || body[it.key()].is_null()) body[it.key()] = it.value();
    // One request may queue at most --max-choices choices; 0: its share of the
    // queue, a quarter of it (at least the slot count).
    RequestLimits lim = opts_.limits;
    if (lim.max_choices <= 0) lim.max_choices = std::max(opts_.scheduler.n_slots, opts_.scheduler.max_queue / 4);
    ApiRequest api = chat ? parse_chat_request(body, lim, raw) : parse_completion_request(body, lim, raw);
    if ((kind == GenerateApi::anthropic_messages || kind == GenerateApi::openai_responses || ollama) && api.n != 1)
      throw bad_param("n", "this API generates one answer per request");

    // One Generation per choice; each distinct prompt is rendered and tokenized once.
    const Tokenizer& tok = served.model->tokenizer();
    const ToolFormat tool_format = detect_tool_format(tok.vocab().chat_template);
    if (api.tools.forced()) {
      // tool_choice required / named: the answer (after the reasoning) is forced to be a
      // call in the model's format with arguments valid for the function's schema.
      std::shared_ptr<const grammar::Grammar> forced;
      try {
        forced = grammar::shared_gbnf(
            forced_tool_call_gbnf(tool_format, api.tools.tools, api.tools.choice == ToolChoice::named ? api.tools.name : "",
                                  api.tools.parallel));
      } catch (const Error& e) {
        throw ApiError(400, fmt::format("cannot force a call of these tools: {}", e.what()), "invalid_request_error",
                       "tools");
      }
      for (GenerateRequest& g : api.choices) g.grammar = forced;
    }
    const int64_t n_ctx = served.options.n_ctx;
    const int64_t max_prompt = opts_.max_prompt_tokens > 0 ? std::min<int64_t>(opts_.max_prompt_tokens, n_ctx - 1) : n_ctx - 1;
    const char* prompt_param = chat ? "messages" : "prompt";
    auto channel = std::make_shared<Channel>();
    std::vector<std::unique_ptr<Job>> jobs;
    PreparedPrompt prepared;
    for (size_t i = 0; i < api.choices.size(); ++i) {
      const GenerateRequest& g = api.choices[i];
      if (i % static_cast<size_t>(api.n) == 0) {
        try {
          prepared = prepare_prompt(tok, g);
        } catch (const Error& e) {
          throw ApiError(400, e.what(), "invalid_request_error", prompt_param);
        }
        if (static_cast<int64_t>(prepared.tokens.size()) > max_prompt)
          throw ApiError(400,
                         fmt::format("the prompt has {} tokens; this server accepts at most {} (context {})",
                                     prepared.tokens.size(), max_prompt, n_ctx),
                         "invalid_request_error", prompt_param, "context_length_exceeded");
      }
      auto job = std::make_unique<Job>();
      try {
        job->gen = std::make_unique<Generation>(tok, static_cast<int32_t>(served.model->config().n_vocab), n_ctx, g, prepared);
      } catch (const Error& e) {
        throw ApiError(400, e.what(), "invalid_request_error", prompt_param);
      }
      job->index = static_cast<int32_t>(i);
      job->channel = channel;
      job->t_arrival = t_arrival;
      jobs.push_back(std::move(job));
      const size_t open = prepared.text.rfind("<think>");
      ex->open_tags.push_back(prepared.starts_in_reasoning && open != std::string::npos ? prepared.text.substr(open) : "");
    }

    ex->ctx.chat = chat;
    ex->ctx.id = new_id(kind == GenerateApi::anthropic_messages ? "msg_"
                        : kind == GenerateApi::openai_responses ? "resp_"
                        : chat                                  ? "chatcmpl-"
                                                                : "cmpl-");
    ex->ctx.prompt_tokens = static_cast<int64_t>(prepared.tokens.size());
    ex->ctx.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    ex->ctx.model = served.spec.name;
    ex->ctx.fingerprint = "r1cpp-0.1.0";
    ex->ctx.field = opts_.reasoning_field;
    ex->ctx.format = api.reasoning_format;
    ex->ctx.n = api.n;
    ex->ctx.tok = &tok;
    if (chat && api.tools.active()) ex->ctx.tool_format = tool_format;
    ex->stream = api.stream;
    ex->include_usage = api.include_usage;
    ex->logprobs = api.logprobs;
    ex->channel = channel;
    ex->out.resize(jobs.size());
    ex->remaining = jobs.size();
    ex->fd = current_connection_fd();

    const size_t n_jobs = jobs.size();
    switch (served.scheduler->submit(std::move(jobs))) {
      case Scheduler::Submit::ok: break;
      case Scheduler::Submit::queue_full: {
        metrics_.rejected("queue_full");
        const SchedulerGauges g = served.scheduler->gauges();
        const double wait = served.scheduler->mean_job_seconds() * static_cast<double>(g.queued + static_cast<int64_t>(n_jobs)) /
                            static_cast<double>(std::max<int64_t>(1, g.slots));
        res.set_header("Retry-After", std::to_string(std::clamp<int64_t>(static_cast<int64_t>(std::ceil(wait)), 1, 60)));
        throw ApiError(429, "the server is busy: the request queue is full, retry later", "rate_limit_error", "",
                       "rate_limit_exceeded");
      }
      case Scheduler::Submit::shutting_down:
        metrics_.rejected("shutting_down");
        throw ApiError(503, "the server is shutting down", "server_error", "", "server_shutting_down");
    }
  } catch (const ApiError& e) {
    return send_error(res, e, *ex->dialect);
  } catch (const json::exception& e) {  // a type error the parsers missed: still the client's
    return send_error(res, ApiError(400, fmt::format("the request has a field of the wrong type: {}", e.what())),
                      *ex->dialect);
  }

  if (ex->stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        ex->dialect->stream_content_type(),
        [ex](size_t, httplib::DataSink& sink) {
          return run_sse_guarded([&] { return ex->stream_to(sink); }, [&](const char* what) { return ex->failed(what); },
                                 [&](const std::string& end) {
                                   if (!sink.write(end.data(), end.size())) return false;
                                   sink.done();
                                   return true;
                                 });
        },
        [ex](bool) noexcept {
          if (ex->remaining > 0) ex->channel->cancel = true;  // the connection ended early
        });
    return;
  }

  try {
    collect(*ex, res);
  } catch (const std::exception& e) {
    send_error(res, ex->failed(e.what()), *ex->dialect);
  }
}

}  // namespace r1::serve
