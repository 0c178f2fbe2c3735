// r1 serve: the OpenAI/DeepSeek-compatible HTTP server (src/serve/). Every flag
// can also come from an environment variable (R1_PORT, ...; the flag wins).
// SIGTERM / SIGINT: drain (finish running work, refuse new), a second one cancels.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "base/error.hpp"
#include "base/log.hpp"
#include "cli/command.hpp"
#include "cli/terminal_flags.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"
#include "serve/server.hpp"

namespace r1::cli {
namespace {

struct ServeFlags {
  std::string model;
  int threads = 0;
  bool allow_paging = false;
  int64_t ctx = 0;
  int64_t cache_ram_mib = 1024;  // --cache-ram
  std::string reasoning_field = "reasoning_content";
  serve::ServerOptions opts;
};

void check(const ServeFlags& f) {
  const serve::ServerOptions& o = f.opts;
  if (f.threads < 0) fail("--threads must be >= 0, got {}", f.threads);
  if (f.ctx < 0) fail("--ctx-size must be >= 0, got {}", f.ctx);
  if (o.port < 0 || o.port > 65535) fail("--port must be in 0..65535, got {}", o.port);
  if (o.scheduler.n_slots < 1 || o.scheduler.n_slots > 256) fail("--parallel must be in 1..256, got {}", o.scheduler.n_slots);
  if (o.scheduler.max_queue < 0) fail("--max-queue must be >= 0, got {}", o.scheduler.max_queue);
  if (o.scheduler.prefill_chunk < 1) fail("--prefill-chunk must be >= 1, got {}", o.scheduler.prefill_chunk);
  if (o.max_body < 1024) fail("--max-body must be at least 1024 bytes, got {}", o.max_body);
  if (o.limits.max_tokens < 0) fail("--max-tokens must be >= 0, got {}", o.limits.max_tokens);
  if (o.max_prompt_tokens < 0) fail("--max-prompt-tokens must be >= 0, got {}", o.max_prompt_tokens);
  if (o.limits.max_n < 1) fail("--max-n must be >= 1, got {}", o.limits.max_n);
  if (o.read_timeout_s < 1) fail("--read-timeout must be >= 1 second, got {}", o.read_timeout_s);
  if (o.header_timeout_s < 1) fail("--header-timeout must be >= 1 second, got {}", o.header_timeout_s);
  if (o.idle_timeout_s < 1) fail("--idle-timeout must be >= 1 second, got {}", o.idle_timeout_s);
  if (o.max_connections < 1) fail("--max-connections must be >= 1, got {}", o.max_connections);
  if (o.max_client_connections < 1) fail("--max-client-connections must be >= 1, got {}", o.max_client_connections);
  if (!(o.drain_timeout_s >= 0)) fail("--drain-timeout must be >= 0, got {}", o.drain_timeout_s);
  if (o.http_threads < 0) fail("--http-threads must be >= 0, got {}", o.http_threads);
}

int run_serve(ServeFlags& f) {
  check(f);
  // Signals are taken by one thread (sigwait) only: block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // wakes the signal thread at exit
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a vanished client must not kill the server

  const std::string model_path = resolve_model_name(f.model);
  auto model = Model::load(model_path, ModelOptions{.n_threads = f.threads, .allow_paging = f.allow_paging});
  serve::ServerOptions& o = f.opts;
  o.scheduler.n_ctx = f.ctx > 0 ? f.ctx : default_context_length(model->config());
  if (o.limits.max_tokens == 0) o.limits.max_tokens = static_cast<int32_t>(o.scheduler.n_ctx);
  if (o.model_id.empty()) o.model_id = std::filesystem::path(f.model).stem().string();
  o.model_path = model_path;
  if (f.cache_ram_mib < 0) fail("--cache-ram must be >= 0 MiB, got {}", f.cache_ram_mib);
  if (std::error_code ec; !o.slot_save_path.empty() && !std::filesystem::is_directory(o.slot_save_path, ec))
    fail("--slot-save-path '{}' is not a directory", o.slot_save_path);
  o.scheduler.cache_ram = static_cast<size_t>(f.cache_ram_mib) << 20;
  o.reasoning_field = f.reasoning_field == "reasoning"  ? serve::ReasoningField::reasoning
                      : f.reasoning_field == "both"     ? serve::ReasoningField::both
                                                        : serve::ReasoningField::reasoning_content;
  serve::Server server(*model, o);
  const int port = server.bind();
  std::fprintf(stderr, "r1 serve: listening on http://%s:%d (model '%s', %d slots x %lld tokens)\n", o.host.c_str(),
               port, o.model_id.c_str(), o.scheduler.n_slots, static_cast<long long>(o.scheduler.n_ctx));
  std::fflush(stderr);

  std::thread drainer;
  std::thread signals([&] {
    int count = 0;
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR1) return;
      if (++count == 1) {
        std::fprintf(stderr, "r1 serve: draining (a second signal cancels running work)\n");
        drainer = std::thread([&server] { server.shutdown(true); });
      } else {
        server.shutdown(false);
      }
    }
  });
  server.serve();
  pthread_kill(signals.native_handle(), SIGUSR1);
  signals.join();
  if (drainer.joinable()) drainer.join();
  std::fprintf(stderr, "r1 serve: stopped\n");
  return 0;
}

const bool registered = register_command({
    .name = "serve",
    .help = "serve an OpenAI/DeepSeek-compatible HTTP API (chat, completions, reasoning_content, SSE, metrics)",
    .setup = [](CLI::App& sub) -> Action {
      auto f = std::make_shared<ServeFlags>();
      serve::ServerOptions& o = f->opts;
      o.scheduler.n_slots = 4;
      o.limits.max_tokens = 0;
      sub.add_option("-m,--model", f->model, "model file (GGUF)")->required()->envname("R1_MODEL");
      sub.add_option("--host", o.host, "address to listen on (loopback by default; 0.0.0.0 exposes the server)")
          ->capture_default_str()->envname("R1_HOST");
      sub.add_option("--port", o.port, "TCP port (0 = any free port, printed at start)")->capture_default_str()->envname("R1_PORT");
      sub.add_option("--parallel", o.scheduler.n_slots, "slots: sequences generated together, each with its own KV cache")
          ->capture_default_str()->envname("R1_PARALLEL");
      sub.add_option("-c,--ctx-size", f->ctx, "context length per slot (0 = the model's, at most 8192)")
          ->capture_default_str()->envname("R1_CTX_SIZE");
      sub.add_option("-t,--threads", f->threads, "compute threads (0 = physical cores)")->envname("R1_THREADS");
      sub.add_flag("--allow-paging", f->allow_paging,
                   "run weights larger than the available memory from the memory map (paged from disk; slow)");
      sub.add_option("--api-key", o.api_key, "require 'Authorization: Bearer KEY' on every route but /health")
          ->envname("R1_API_KEY");
      sub.add_option("--max-body", o.max_body, "largest request body in bytes (413 above)")
          ->capture_default_str()->envname("R1_MAX_BODY");
      sub.add_option("--max-queue", o.scheduler.max_queue, "choices that may wait for a slot (429 + Retry-After above)")
          ->capture_default_str()->envname("R1_MAX_QUEUE");
      sub.add_option("--max-tokens", o.limits.max_tokens, "largest max_tokens a request may ask (0 = the context size)")
          ->envname("R1_MAX_TOKENS");
      sub.add_option("--max-prompt-tokens", o.max_prompt_tokens, "longest prompt in tokens (0 = the context size - 1)")
          ->envname("R1_MAX_PROMPT_TOKENS");
      sub.add_option("--max-n", o.limits.max_n, "largest n (choices per prompt)")->capture_default_str()->envname("R1_MAX_N");
      o.limits.max_choices = 0;
      sub.add_option("--max-choices", o.limits.max_choices,
                     "choices (prompts x n) one request may queue (0 = max(parallel, max-queue / 4))")
          ->check(CLI::NonNegativeNumber)->envname("R1_MAX_CHOICES");
      sub.add_option("--reasoning-field", f->reasoning_field,
                     "field name(s) of the reasoning: reasoning_content (DeepSeek), reasoning (vLLM, ollama) or both")
          ->capture_default_str()
          ->check(CLI::IsMember({"reasoning_content", "reasoning", "both"}))
          ->envname("R1_REASONING_FIELD");
      sub.add_option("--cors", o.cors_origin, "send CORS headers allowing this origin (e.g. http://localhost:3000, or *)")
          ->envname("R1_CORS");
      sub.add_option("--alias", o.model_id, "model name in /v1/models and requests (default: the file name)")
          ->envname("R1_ALIAS");
      sub.add_option("--slot-save-path", o.slot_save_path,
                     "directory for POST /slots/{id}?action=save|restore files (off without it)");
      sub.add_option("--cache-ram", f->cache_ram_mib,
                     "MiB of host RAM for the prompt cache (finished slots' KV, reused by later prompts; 0 = off)")
          ->capture_default_str()->envname("R1_CACHE_RAM");
      sub.add_option("--prefill-chunk", o.scheduler.prefill_chunk, "prompt tokens per batched step, over all slots")
          ->capture_default_str()->envname("R1_PREFILL_CHUNK");
      sub.add_option("--read-timeout", o.read_timeout_s, "seconds a request may take to arrive, from its first byte to the end of its body (408 after)")
          ->capture_default_str()->envname("R1_READ_TIMEOUT");
      sub.add_option("--header-timeout", o.header_timeout_s, "seconds a new connection may take to send its request head")
          ->capture_default_str()->envname("R1_HEADER_TIMEOUT");
      sub.add_option("--idle-timeout", o.idle_timeout_s, "seconds a keep-alive connection may stay idle between requests")
          ->capture_default_str()->envname("R1_IDLE_TIMEOUT");
      sub.add_option("--max-connections", o.max_connections,
                     "open connections in all (above: the oldest one not being served is closed)")
          ->capture_default_str()->envname("R1_MAX_CONNECTIONS");
      sub.add_option("--max-client-connections", o.max_client_connections,
                     "open connections from one address (above: its oldest one not being served is closed)")
          ->capture_default_str()->envname("R1_MAX_CLIENT_CONNECTIONS");
      sub.add_option("--host-allow", o.host_allow,
                     "Host names accepted besides IP addresses and localhost (DNS rebinding guard; * = any), comma-separated")
          ->delimiter(',')->envname("R1_HOST_ALLOW");
      sub.add_option("--drain-timeout", o.drain_timeout_s, "seconds running work may take to finish on SIGTERM")
          ->capture_default_str()->envname("R1_DRAIN_TIMEOUT");
      sub.add_option("--http-threads", o.http_threads, "threads that run request handlers (0 = parallel + max-queue + 16)")
          ->envname("R1_HTTP_THREADS");
      return [f] { return run_serve(*f); };
    }});

}  // namespace
}  // namespace r1::cli
