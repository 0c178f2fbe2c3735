// r1 serve: the OpenAI/DeepSeek-compatible HTTP server (src/serve/). Every flag
// can also come from an environment variable (R1_PORT, ...; the flag wins).
// SIGTERM / SIGINT: drain (finish running work, refuse new), a second one cancels.
#include <algorithm>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/file_text.hpp"
#include "cli/command.hpp"
#include "cli/terminal_flags.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"
#include "serve/server.hpp"

namespace r1::cli {
namespace {

struct ServeFlags {
  std::vector<std::string> models;  // -m (repeatable)
  std::string models_dir;           // --models-dir
  std::string models_config;        // --models-config
  int64_t models_memory_mib = 0;    // --models-memory
  double models_ttl_s = 0;          // --models-ttl
  int threads = 0;
  bool allow_paging = false;
  int64_t ctx = 0;
  int64_t cache_ram_mib = 1024;  // --cache-ram
  std::string reasoning_field = "reasoning_content";
  SpecFlags spec;  // --spec, --draft, ... (per slot)
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

// The served models: each -m (a file, a Hugging Face directory or a pulled name) and
// every *.gguf of --models-dir, named by file stem (--alias names a single model), with
// per-model settings from --models-config: {"NAME": {"ctx", "parallel", "temperature",
// "top_p", "top_k", "min_p", "max_tokens", "repeat_penalty", "presence_penalty",
// "frequency_penalty"}}.
std::vector<serve::ModelSpec> model_specs(const ServeFlags& f) {
  namespace fs = std::filesystem;
  std::vector<serve::ModelSpec> specs;
  for (const std::string& m : f.models) {
    serve::ModelSpec s;
    s.path = resolve_model_name(m);
    s.name = fs::path(m).filename().string();
    if (fs::path(s.name).extension() == ".gguf") s.name = fs::path(s.name).stem().string();
    if (s.name.empty()) s.name = fs::path(s.path).stem().string();
    specs.push_back(std::move(s));
  }
  if (!f.models_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(f.models_dir, ec)) fail("--models-dir '{}' is not a directory", f.models_dir);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(f.models_dir, ec))
      if (e.is_regular_file() && e.path().extension() == ".gguf") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) specs.push_back(serve::ModelSpec{p.stem().string(), p.string()});
    if (files.empty() && f.models.empty()) fail("--models-dir '{}' holds no .gguf file", f.models_dir);
  }
  if (specs.empty()) fail("no model: give -m MODEL (repeatable) or --models-dir DIR");
  if (!f.opts.model_id.empty()) {
    if (specs.size() > 1) fail("--alias names one model; with several, each is named by its file");
    specs[0].name = f.opts.model_id;
  }
  for (size_t i = 0; i < specs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (specs[i].name == specs[j].name) fail("two models are named '{}' ({} and {})", specs[i].name, specs[j].path, specs[i].path);
  if (!f.models_config.empty()) {
    const nlohmann::json cfg = nlohmann::json::parse(read_file_text(f.models_config, 1u << 20), nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object()) fail("--models-config '{}' is not a JSON object", f.models_config);
    for (auto it = cfg.begin(); it != cfg.end(); ++it) {
      auto spec = std::find_if(specs.begin(), specs.end(), [&](const serve::ModelSpec& s) { return s.name == it.key(); });
      if (spec == specs.end()) fail("--models-config '{}': no model named '{}'", f.models_config, it.key());
      if (!it.value().is_object()) fail("--models-config '{}': '{}' must be an object", f.models_config, it.key());
      for (auto kv = it.value().begin(); kv != it.value().end(); ++kv) {
        const std::string& k = kv.key();
        const nlohmann::json& v = kv.value();
        if (k == "ctx" || k == "parallel") {
          if (!v.is_number_integer() || v.get<int64_t>() < 1 || (k == "parallel" && v.get<int64_t>() > 256))
            fail("--models-config '{}': {}.{} must be a positive integer", f.models_config, it.key(), k);
          if (k == "ctx") spec->ctx = v.get<int64_t>();
          else spec->parallel = static_cast<int32_t>(v.get<int64_t>());
        } else if (k == "temperature" || k == "top_p" || k == "top_k" || k == "min_p" || k == "max_tokens" ||
                   k == "repeat_penalty" || k == "presence_penalty" || k == "frequency_penalty") {
          if (!v.is_number()) fail("--models-config '{}': {}.{} must be a number", f.models_config, it.key(), k);
          spec->sampling[k] = v;
        } else {
          fail("--models-config '{}': unknown setting '{}.{}'", f.models_config, it.key(), k);
        }
      }
    }
  }
  return specs;
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

  std::vector<serve::ModelSpec> specs = model_specs(f);
  serve::ServerOptions& o = f.opts;
  o.load = ModelOptions{.n_threads = f.threads, .allow_paging = f.allow_paging};
  auto model = Model::load(specs[0].path, o.load);
  const LoadedSpeculation spec = load_speculation(f.spec, *model, o.load);  // the draft outlives the server
  o.scheduler.speculation = spec.options;
  o.scheduler.n_ctx = f.ctx;  // 0: each model's own default
  const int64_t first_ctx = specs[0].ctx > 0 ? specs[0].ctx : f.ctx > 0 ? f.ctx : default_context_length(model->config());
  if (o.limits.max_tokens == 0) o.limits.max_tokens = static_cast<int32_t>(first_ctx);
  if (f.models_memory_mib < 0) fail("--models-memory must be >= 0 MiB, got {}", f.models_memory_mib);
  if (!(f.models_ttl_s >= 0)) fail("--models-ttl must be >= 0 seconds, got {}", f.models_ttl_s);
  o.models_memory = static_cast<size_t>(f.models_memory_mib) << 20;
  o.models_ttl_s = f.models_ttl_s;
  o.model_id = specs[0].name;
  if (f.cache_ram_mib < 0) fail("--cache-ram must be >= 0 MiB, got {}", f.cache_ram_mib);
  if (std::error_code ec; !o.slot_save_path.empty() && !std::filesystem::is_directory(o.slot_save_path, ec))
    fail("--slot-save-path '{}' is not a directory", o.slot_save_path);
  o.scheduler.cache_ram = static_cast<size_t>(f.cache_ram_mib) << 20;
  o.reasoning_field = f.reasoning_field == "reasoning"  ? serve::ReasoningField::reasoning
                      : f.reasoning_field == "both"     ? serve::ReasoningField::both
                                                        : serve::ReasoningField::reasoning_content;
  const size_t n_models = specs.size();
  serve::Server server(std::move(specs), std::move(model), o);
  const int port = server.bind();
  std::fprintf(stderr, "r1 serve: listening on http://%s:%d (model '%s', %d slots x %lld tokens%s)\n", o.host.c_str(),
               port, o.model_id.c_str(), o.scheduler.n_slots, static_cast<long long>(first_ctx),
               n_models > 1 ? fmt::format(", {} models", n_models).c_str() : "");
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
      sub.add_option("-m,--model", f->models, "model file (GGUF), Hugging Face directory or pulled name; repeat to serve several")
          ->envname("R1_MODEL");
      sub.add_option("--models-dir", f->models_dir, "serve every .gguf file of this directory (named by file name)")
          ->envname("R1_MODELS_DIR");
      sub.add_option("--models-config", f->models_config,
                     "JSON file of per-model settings: {\"NAME\": {\"ctx\", \"parallel\", \"temperature\", ...}}");
      sub.add_option("--models-memory", f->models_memory_mib,
                     "MiB the loaded models may take together (weights + KV + prompt cache); idle ones are unloaded LRU "
                     "first (0 = no limit)")->capture_default_str()->envname("R1_MODELS_MEMORY");
      sub.add_option("--models-ttl", f->models_ttl_s, "unload a model idle for this many seconds (0 = never)")
          ->capture_default_str()->envname("R1_MODELS_TTL");
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
      add_spec_flags(sub, f->spec);
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
