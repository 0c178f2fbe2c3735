// `r1 serve`: an OpenAI/DeepSeek-compatible HTTP API over one model.
//
// Routes: POST /v1/chat/completions, POST /v1/completions (streaming as SSE with
// "data: [DONE]"), GET /v1/models[/{id}], GET /health, GET /metrics (Prometheus),
// POST /tokenize, POST /detokenize; POST /v1/responses (responses_api.hpp); Anthropic's POST /v1/messages (anthropic_api.hpp);
// ollama's POST /api/chat, /api/generate, /api/show, GET /api/tags, /api/ps, /api/version
// (ollama_api.hpp). See docs/server.md for the wire format.
//
// Contracts:
// - Errors are OpenAI-shaped JSON ({"error": {message, type, param, code}}):
//   400 bad request (invalid JSON, invalid UTF-8, wrong types, out-of-range
//   values, prompt too long: code context_length_exceeded), 401 missing or wrong
//   API key (code invalid_api_key), 404 unknown route or model (model_not_found),
//   413 body over max_body, 429 queue full (Retry-After header), 503 draining,
//   500 internal.
// - With an API key, every route but /health needs "Authorization: Bearer KEY" (or
//   Anthropic's "x-api-key: KEY").
// - CORS headers are sent only when cors_origin is set.
// - Browser guard (browser_guard.hpp): with no API key, or with host_allow set,
//   a Host header that is not an IP literal, localhost or an allowed name gets
//   403; with no API key, a request whose Origin is neither this server's nor the
//   CORS origin gets 403.
// - Connections (http_front.hpp): requests are read in full by one event thread
//   before a worker serves them; idle and slow clients cannot hold workers.
// - No route reads or writes files except POST /slots/{id}?action=save|restore, and only
//   plain file names inside the operator's --slot-save-path (off by default: 403).
// - A client that disconnects cancels its generation (checked between steps
//   while it waits, and on every failed write).
// - shutdown(true): new generation requests get 503 and /health reports
//   "draining"; running and queued work finishes (up to drain_timeout_s, then it
//   is cancelled); then the listener stops and serve() returns.
#pragma once
#include <atomic>
#include <condition_variable>
#include <thread>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "serve/api_request.hpp"
#include "serve/api_response.hpp"
#include "serve/browser_guard.hpp"
#include "serve/http_front.hpp"
#include "serve/metrics.hpp"
#include "serve/model_pool.hpp"
#include "serve/scheduler.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace r1::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port (see bind())
  std::string api_key;                // empty: no authentication
  size_t max_body = 8u << 20;         // bytes of a request body
  std::string cors_origin;            // empty: no CORS headers
  ReasoningField reasoning_field = ReasoningField::reasoning_content;
  std::string model_id;               // unused with ModelSpec names (kept for the single-model banner)
  std::string model_path;             // the model file (ollama's /api/tags size and date), "" if none
  std::string slot_save_path;         // directory of slot files (POST /slots/{id}); "" = slot files off
  int http_threads = 0;               // handler threads; 0: slots + max_queue + 16
  int read_timeout_s = 30;            // from a request's first byte to the end of its body
  int header_timeout_s = 10;          // from accept (or a request's first byte) to the end of its head
  int idle_timeout_s = 5;             // keep-alive: between two requests of a connection
  int max_connections = 4096;         // open connections in all (capped by the descriptor limit)
  int max_client_connections = 1024;  // open connections from one address
  std::vector<std::string> host_allow;  // Host names accepted besides IP literals and localhost ("*": any)
  double drain_timeout_s = 30;        // shutdown(true): how long running work may finish
  int32_t max_prompt_tokens = 0;      // 0: the slot context - 1
  RequestLimits limits;
  SchedulerOptions scheduler;         // defaults of every model's scheduler (ModelSpec may override)
  size_t models_memory = 0;           // bytes the loaded models may take (0: no limit; model_pool.hpp)
  double models_ttl_s = 0;            // unload a model idle this long (0: never)
  ModelOptions load;                  // how models loaded on demand are loaded
};

// The generation routes, by API (dialect.hpp).
enum class GenerateApi { openai_chat, openai_completions, openai_responses, anthropic_messages, ollama_chat, ollama_generate };

class Server {
 public:
  // Serves `models` (at least one; requests name them, "" = the first). `first` is the
  // first model, loaded by the caller (so that a bad file fails at start); the others load
  // on first use. Allocates the first model's slots (throws r1::Error when they do not fit).
  Server(std::vector<ModelSpec> models, std::unique_ptr<Model> first, ServerOptions opts);
  ~Server();

  // Binds the listening socket; returns the port (the chosen one when port 0).
  // Throws r1::Error when the address cannot be bound.
  int bind();
  // Serves until shutdown() completes.
  void serve();
  // graceful: drain as described above; else cancel everything at once. Safe to
  // call from any thread, more than once (a second call cancels).
  void shutdown(bool graceful);

 private:
  void setup_routes();
  bool authorized(const httplib::Request& req) const;
  // body: the request body, read in full (at most max_body bytes).
  void handle_generate(const httplib::Request& req, httplib::Response& res, const std::string& body, GenerateApi api);
  void handle_tokenize(const httplib::Request& req, httplib::Response& res, const std::string& body);
  void handle_detokenize(const httplib::Request& req, httplib::Response& res, const std::string& body);
  void handle_slot(const httplib::Request& req, httplib::Response& res, const std::string& body);
  std::string new_id(const char* prefix);

  ServerOptions opts_;
  Metrics metrics_;
  std::unique_ptr<ModelPool> pool_;
  std::thread reaper_;                     // unloads idle models (models_ttl_s)
  std::mutex reaper_mu_;
  std::condition_variable reaper_cv_;
  bool reaper_stop_ = false;
  std::unique_ptr<httplib::Server> http_;  // routes and handlers
  std::unique_ptr<HttpFront> front_;       // connections
  BrowserGuard guard_;
  std::atomic<bool> draining_{false};
  std::mutex shutdown_mu_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
  int64_t started_ = 0;  // unix seconds
};

// Parses a request body as JSON: 400 for invalid JSON (including invalid UTF-8
// and nesting deeper than 64), via ApiError.
nlohmann::json parse_body(const std::string& body);

}  // namespace r1::serve
