// HTTP plumbing: routes, authentication, CORS, error bodies, start and shutdown.
// The generation routes live in server_generate.cpp.
#include "serve/server.hpp"

#include <sys/stat.h>

#include <ctime>
#include <filesystem>

#include "base/timing.hpp"
#include "model/kv_cache.hpp"
#include "serve/ollama_api.hpp"
#include "serve/slot_files.hpp"

#include <httplib.h>

#include <chrono>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/log.hpp"
#include "engine/chat_format.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::serve {

// The ollama API version /api/version reports: the one whose routes and fields are
// served here (clients check it before using newer fields such as "think").
constexpr const char* kOllamaApiVersion = "0.12.0";

using nlohmann::json;

namespace {

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(dump(j), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status, e.to_json()); }

// Equal-time comparison, so the key cannot be guessed byte by byte from timings.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

// The route a metrics sample is filed under (raw paths would let clients create series).
std::string route_label(const std::string& path) {
  for (const char* r : {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics", "/tokenize",
                        "/detokenize", "/chat/completions", "/completions"})
    if (path == r) return r;
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models";
  return "other";
}

// Runs a handler body, answering ApiError and r1::Error in OpenAI's shape. A JSON
// library exception (a type error the request parsers did not name) is the client's
// too: 400, as a last line of defence. Anything else reaches the exception handler (500).
template <class F>
void guarded(httplib::Response& res, F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Error& e) {
    send_error(res, ApiError(400, e.what()));
  } catch (const json::exception& e) {
    send_error(res, ApiError(400, fmt::format("the request has a field of the wrong type: {}", e.what())));
  }
}

// Reads the body through a content reader: the plain handler would refuse
// url-encoded bodies over 8 KiB (what curl -d sends without a Content-Type) and
// parse them as form fields.
using BodyHandler = std::function<void(const httplib::Request&, httplib::Response&, const std::string&)>;
httplib::Server::HandlerWithContentReader with_body(BodyHandler h, size_t max_body) {
  return [h = std::move(h), max_body](const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& reader) {
    std::string body;
    bool too_big = false;
    const bool ok = reader([&](const char* data, size_t n) {
      if (body.size() + n > max_body) {
        too_big = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (!ok || too_big) {
      res.set_header("Connection", "close");
      if (too_big || res.status == 413)
        send_error(res, ApiError(413, "the request body is larger than the server accepts (--max-body)",
                                 "invalid_request_error", "", "request_too_large"));
      else
        send_error(res, ApiError(400, "the request body could not be read"));
      return;
    }
    h(req, res, body);
  };
}

// The connection layer's counters in Prometheus text.
std::string render_front_stats(const FrontStats& f) {
  return fmt::format(
      "# HELP r1_http_connections_open TCP connections open now.\n"
      "# TYPE r1_http_connections_open gauge\nr1_http_connections_open {}\n"
      "# HELP r1_http_connections_serving Connections whose request a worker is serving now.\n"
      "# TYPE r1_http_connections_serving gauge\nr1_http_connections_serving {}\n"
      "# HELP r1_http_connections_accepted_total TCP connections accepted.\n"
      "# TYPE r1_http_connections_accepted_total counter\nr1_http_connections_accepted_total {}\n"
      "# HELP r1_http_connections_closed_total Connections the server closed early, by reason.\n"
      "# TYPE r1_http_connections_closed_total counter\n"
      "r1_http_connections_closed_total{{reason=\"evicted\"}} {}\n"
      "r1_http_connections_closed_total{{reason=\"timed_out\"}} {}\n"
      "r1_http_connections_closed_total{{reason=\"refused\"}} {}\n",
      f.open, f.serving, f.accepted, f.evicted, f.timed_out, f.refused);
}

}  // namespace

json parse_body(const std::string& body) {
  if (json_nesting_depth(body) > 64) throw ApiError(400, "the request body nests arrays/objects deeper than 64 levels");
  try {
    // Invalid UTF-8 bytes are replaced by U+FFFD exactly as the CLI does before
    // tokenizing (sanitize_utf8), so the same bytes give the same tokens everywhere.
    // An escaped unpaired surrogate ("\ud800") encodes no character at all: that is a
    // JSON error (400).
    return json::parse(sanitize_utf8(body));
  } catch (const json::parse_error& e) {
    throw ApiError(400, fmt::format("the request body is not valid JSON: {}", e.what()));
  }
}

Server::Server(std::vector<ModelSpec> models, std::unique_ptr<Model> first, ServerOptions opts)
    : opts_(std::move(opts)), rng_(std::random_device{}()) {
  PoolOptions po;
  po.scheduler = opts_.scheduler;
  po.load = opts_.load;
  po.memory_budget = opts_.models_memory;
  po.idle_ttl_s = opts_.models_ttl_s;
  pool_ = std::make_unique<ModelPool>(std::move(models), po, metrics_);
  if (first) pool_->adopt_first(std::move(first));
  if (opts_.models_ttl_s > 0)
    reaper_ = std::thread([this] {
      std::unique_lock lk(reaper_mu_);
      while (!reaper_cv_.wait_for(lk, std::chrono::seconds(1), [this] { return reaper_stop_; })) pool_->reap_idle();
    });
  started_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  http_ = std::make_unique<httplib::Server>();
  http_->set_payload_max_length(opts_.max_body);
  FrontOptions front;
  front.host = opts_.host;
  front.port = opts_.port;
  front.workers = opts_.http_threads > 0 ? opts_.http_threads : opts_.scheduler.n_slots + opts_.scheduler.max_queue + 16;
  front.max_connections = opts_.max_connections;
  front.max_client_connections = opts_.max_client_connections;
  front.header_timeout_s = opts_.header_timeout_s;
  front.read_timeout_s = opts_.read_timeout_s;
  front.idle_timeout_s = opts_.idle_timeout_s;
  front.max_body = opts_.max_body;
  front_ = std::make_unique<HttpFront>(*http_, front);
  guard_.check_host = opts_.api_key.empty() || !opts_.host_allow.empty();
  guard_.check_origin = opts_.api_key.empty();
  for (const std::string& h : opts_.host_allow) guard_.host_allow.push_back(h == "*" ? h : host_name_of(h));
  guard_.cors_origin = opts_.cors_origin;
  setup_routes();
}

Server::~Server() {
  {
    std::lock_guard lk(reaper_mu_);
    reaper_stop_ = true;
  }
  reaper_cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

int Server::bind() { return front_->bind(); }

void Server::serve() { front_->run(); }

void Server::shutdown(bool graceful) {
  const bool first = !draining_.exchange(true);
  pool_->begin_drain();
  if (!first || !graceful) {
    pool_->cancel_all();
    if (!first) return;  // the first call finishes the shutdown
  }
  std::lock_guard lk(shutdown_mu_);
  if (graceful && !pool_->wait_idle(opts_.drain_timeout_s)) {
    log(LogLevel::warn, "drain timeout ({} s): cancelling what is still running", opts_.drain_timeout_s);
    pool_->cancel_all();
  }
  pool_->wait_idle(10.0);
  front_->stop();
}

std::string Server::new_id(const char* prefix) {
  std::lock_guard lk(rng_mu_);
  return fmt::format("{}{:016x}{:08x}", prefix, rng_(), static_cast<uint32_t>(rng_()));
}

bool Server::authorized(const httplib::Request& req) const {
  if (opts_.api_key.empty()) return true;
  if (req.has_header("x-api-key")) return same_secret(req.get_header_value("x-api-key"), opts_.api_key);
  const std::string h = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (h.size() <= prefix.size() || h.compare(0, prefix.size(), prefix) != 0) return false;
  return same_secret(h.substr(prefix.size()), opts_.api_key);
}

void Server::setup_routes() {
  httplib::Server& s = *http_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (const std::string refusal = guard_.check(req.get_header_value("Host"), req.get_header_value("Origin"));
        !refusal.empty()) {
      send_error(res, ApiError(403, refusal, "invalid_request_error", "", "cross_site_request"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!opts_.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", opts_.cors_origin);
      if (opts_.cors_origin != "*") res.set_header("Vary", "Origin");
    }
    if (req.method == "OPTIONS") {
      if (opts_.cors_origin.empty()) {
        send_error(res, ApiError(405, "OPTIONS is answered only with --cors", "invalid_request_error", "", "method_not_allowed"));
      } else {
        res.status = 204;
        res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.set_header("Access-Control-Max-Age", "600");
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path != "/health" && !authorized(req)) {
      send_error(res, ApiError(401, "missing or incorrect API key (send 'Authorization: Bearer KEY')",
                               "authentication_error", "", "invalid_api_key"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    switch (res.status) {
      case 404:
        send_error(res, ApiError(404, fmt::format("no route {} {}", req.method, sanitize_utf8(req.path)),
                                 "invalid_request_error", "", "not_found"));
        break;
      case 413:
        send_error(res, ApiError(413, "the request body is larger than the server accepts (--max-body)",
                                 "invalid_request_error", "", "request_too_large"));
        break;
      case 414:
        send_error(res, ApiError(414, "the request URI is too long", "invalid_request_error", "", "uri_too_long"));
        break;
      default:
        send_error(res, ApiError(res.status, fmt::format("HTTP error {}", res.status),
                                 res.status >= 500 ? "server_error" : "invalid_request_error"));
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, fmt::format("internal error: {}", what), "server_error"));
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.request_done(route_label(req.path), res.status);
    log(LogLevel::debug, "{} {} -> {}", req.method, sanitize_utf8(req.path), res.status);
  });

  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (draining_) send_json(res, 503, {{"status", "draining"}});
    else send_json(res, 200, {{"status", "ok"}});
  });
  auto model_json = [this](const ModelSpec& spec) {
    json meta = {{"loaded", false}, {"path", std::filesystem::path(spec.path).filename().string()}};
    if (Lease m = pool_->loaded(spec.name)) {
      const ModelConfig& c = m->model->config();
      meta = {{"loaded", true},
              {"arch", arch_name(c.arch)},
              {"n_vocab", c.n_vocab},
              {"n_ctx_train", c.n_ctx_train},
              {"n_ctx", m->options.n_ctx},
              {"parallel", m->options.n_slots}};
    }
    return json{{"id", spec.name}, {"object", "model"}, {"created", started_}, {"owned_by", "r1.cpp"}, {"meta", meta}};
  };
  s.Get("/v1/models", [this, model_json](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    for (const ModelSpec& spec : pool_->specs()) data.push_back(model_json(spec));
    send_json(res, 200, {{"object", "list"}, {"data", data}});
  });
  s.Get(R"(/v1/models/(.+))", [this, model_json](const httplib::Request& req, httplib::Response& res) {
    const ModelSpec* spec = pool_->spec(req.matches[1].str());
    if (!spec || req.matches[1].str().empty())
      return send_error(res, ApiError(404, fmt::format("the model '{}' does not exist", sanitize_utf8(req.matches[1].str())),
                                      "invalid_request_error", "model", "model_not_found"));
    send_json(res, 200, model_json(*spec));
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(pool_->gauges()) + pool_->render_metrics() + render_front_stats(front_->stats()),
                    "text/plain; version=0.0.4");
  });
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  using Body = const std::string&;
  const size_t max = opts_.max_body;
  s.Post("/tokenize", with_body([this](Req req, Res res, Body b) { handle_tokenize(req, res, b); }, max));
  s.Post("/detokenize", with_body([this](Req req, Res res, Body b) { handle_detokenize(req, res, b); }, max));
  auto generate = [this, max](GenerateApi api) {
    return with_body([this, api](Req req, Res res, Body b) { handle_generate(req, res, b, api); }, max);
  };
  for (const char* p : {"/v1/chat/completions", "/chat/completions"}) s.Post(p, generate(GenerateApi::openai_chat));
  for (const char* p : {"/v1/completions", "/completions"}) s.Post(p, generate(GenerateApi::openai_completions));
  s.Post("/v1/messages", generate(GenerateApi::anthropic_messages));
  for (const char* p : {"/v1/responses", "/responses"}) s.Post(p, generate(GenerateApi::openai_responses));
  s.Post(R"(/slots/(\d{1,6}))", with_body([this](Req req, Res res, Body b) { handle_slot(req, res, b); }, max));
  s.Post("/api/chat", generate(GenerateApi::ollama_chat));
  s.Post("/api/generate", generate(GenerateApi::ollama_generate));
  auto ollama_info = [this](const ModelSpec& spec) {
    OllamaModelInfo m;
    m.name = spec.name;
    m.modified_at = iso_time_now();
    if (Lease l = pool_->loaded(spec.name)) {
      const ModelConfig& c = l->model->config();
      m.arch = arch_name(c.arch);
      m.n_ctx_train = c.n_ctx_train;
      m.chat_template = l->model->tokenizer().vocab().chat_template;
      m.size_bytes = static_cast<int64_t>(l->model->weight_bytes());
    }
    std::error_code ec;
    const auto size = std::filesystem::file_size(spec.path, ec);
    if (!ec) m.size_bytes = static_cast<int64_t>(size);
    struct stat st{};
    if (::stat(spec.path.c_str(), &st) == 0) {
      const std::time_t tt = st.st_mtime;
      std::tm tm{};
      gmtime_r(&tt, &tm);
      m.modified_at = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    return m;
  };
  s.Get("/api/tags", [this, ollama_info](Req, Res res) {
    json models = json::array();
    for (const ModelSpec& spec : pool_->specs()) models.push_back(ollama_tags(ollama_info(spec))["models"][0]);
    send_json(res, 200, {{"models", models}});
  });
  s.Get("/api/ps", [this, ollama_info](Req, Res res) {
    json models = json::array();
    for (const Lease& l : pool_->loaded_models()) models.push_back(ollama_ps(ollama_info(l->spec))["models"][0]);
    send_json(res, 200, {{"models", models}});
  });
  s.Get("/api/version", [](Req, Res res) { send_json(res, 200, {{"version", kOllamaApiVersion}}); });
  s.Post("/api/show", with_body([this, ollama_info](Req, Res res, Body b) {
    try {
      const json body = parse_body(b);
      std::string name = body.is_object() && body.contains("model") && body["model"].is_string() ? body["model"].get<std::string>()
                         : body.is_object() && body.contains("name") && body["name"].is_string() ? body["name"].get<std::string>()
                                                                                                  : "";
      if (name.size() > 7 && name.compare(name.size() - 7, 7, ":latest") == 0) name.resize(name.size() - 7);
      const ModelSpec* spec = name.empty() ? nullptr : pool_->spec(name);
      if (spec) pool_->acquire(spec->name);  // show describes the loaded model (template, architecture)
      OllamaModelInfo info = spec ? ollama_info(*spec) : OllamaModelInfo{};
      send_json(res, 200, ollama_show(info, body));
    } catch (const ApiError& e) {
      send_json(res, e.status, {{"error", e.what()}});
    }
  }, max));
}

// POST /slots/{id}?action=save|restore|erase, {"filename": NAME} (save, restore).
void Server::handle_slot(const httplib::Request& req, httplib::Response& res, const std::string& raw) {
  guarded(res, [&] {
    const int32_t id = std::stoi(req.matches[1].str());
    const std::string action = req.get_param_value("action");
    if (action != "save" && action != "restore" && action != "erase")
      throw bad_param("action", "'action' must be save, restore or erase (as ?action=...)");
    const auto t0 = now_seconds();
    const Lease m = pool_->acquire(req.get_param_value("model"));
    Scheduler& scheduler = *m->scheduler;
    if (action == "erase") {
      scheduler.erase_slot(id);
      send_json(res, 200, {{"id_slot", id}, {"n_erased", 1}});
      return;
    }
    if (opts_.slot_save_path.empty())
      throw ApiError(403, "slot files are off: start the server with --slot-save-path DIR", "permission_error");
    const json body = parse_body(raw);
    const json* name = body.is_object() && body.contains("filename") ? &body["filename"] : nullptr;
    if (!name || !name->is_string() || !valid_slot_file_name(name->get<std::string>()))
      throw bad_param("filename", "'filename' must be a plain file name of letters, digits, '.', '_' and '-' (no path)");
    const std::string path = (std::filesystem::path(opts_.slot_save_path) / name->get<std::string>()).string();
    const uint64_t per_token = kv_bytes_per_token(m->model->config());
    if (action == "save") {
      const Session::Snapshot snap = scheduler.save_slot(id);
      const size_t written = write_slot_file(path, snap, per_token);
      send_json(res, 200, {{"id_slot", id}, {"filename", *name}, {"n_saved", snap.tokens.size()}, {"n_written", written},
                           {"timings", {{"save_ms", (now_seconds() - t0) * 1000.0}}}});
    } else {
      Session::Snapshot snap;
      try {
        snap = read_slot_file(path, per_token, m->options.n_ctx, static_cast<int32_t>(m->model->config().n_vocab));
      } catch (const Error& e) {
        throw bad_param("filename", e.what());
      }
      scheduler.restore_slot(id, snap);
      send_json(res, 200, {{"id_slot", id}, {"filename", *name}, {"n_restored", snap.tokens.size()},
                           {"n_read", snap.bytes()}, {"timings", {{"restore_ms", (now_seconds() - t0) * 1000.0}}}});
    }
  });
}

void Server::handle_tokenize(const httplib::Request&, httplib::Response& res, const std::string& raw) {
  guarded(res, [&] {
    const json body = parse_body(raw);
    const TokenizeRequest t = parse_tokenize_request(body);
    const Lease m = pool_->acquire(body.is_object() && body.contains("model") && body["model"].is_string()
                                       ? body["model"].get<std::string>() : "");
    const Tokenizer& tok = m->model->tokenizer();
    const std::vector<int32_t> ids = t.messages.is_null()
                                         ? tok.encode(t.content, t.add_special, t.parse_special)
                                         : tokenize_prompt(tok, format_chat(tok, t.messages, t.add_generation_prompt));
    json tokens = json::array();
    for (int32_t id : ids) {
      if (!t.with_pieces) tokens.push_back(id);
      else tokens.push_back({{"id", id}, {"piece", sanitize_utf8(token_bytes_or_empty(tok, id))}});
    }
    send_json(res, 200, {{"tokens", tokens}});
  });
}

void Server::handle_detokenize(const httplib::Request&, httplib::Response& res, const std::string& raw) {
  guarded(res, [&] {
    const json body = parse_body(raw);
    const Lease m = pool_->acquire(body.is_object() && body.contains("model") && body["model"].is_string()
                                       ? body["model"].get<std::string>() : "");
    const Tokenizer& tok = m->model->tokenizer();
    const std::vector<int32_t> ids = parse_detokenize_request(body, tok.n_vocab());
    // Ids may end mid-character: invalid UTF-8 becomes U+FFFD (the tokenizer's rule).
    send_json(res, 200, {{"content", sanitize_utf8(tok.decode(ids))}});
  });
}

}  // namespace r1::serve
