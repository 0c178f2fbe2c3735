// JSONL trace writer (see trace.hpp for the format and the atomicity contract).
#include "engine/trace.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "base/error.hpp"

namespace r1 {

namespace {

std::string utc_now_iso8601() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, int(ms));
}

double tps(int32_t tokens, double ms) { return ms > 0 ? tokens * 1000.0 / ms : 0.0; }

}  // namespace

nlohmann::ordered_json trace_to_json(const TraceRecord& r) {
  using J = nlohmann::ordered_json;
  J j = J::object();
  j["time"] = utc_now_iso8601();
  j["model"] = r.model;
  j["prompt"] = r.prompt;
  j["prompt_text"] = r.prompt_text;
  j["reasoning"] = r.reasoning;
  j["content"] = r.content;
  j["finish_reason"] = r.finish_reason;
  j["tokens"] = {{"prompt", r.prompt_tokens},
                 {"cached", r.cached_tokens},
                 {"reasoning", r.reasoning_tokens},
                 {"content", r.content_tokens},
                 {"generated", r.generated_tokens}};
  j["timings"] = {{"prefill_ms", r.prefill_ms},
                  {"decode_ms", r.decode_ms},
                  {"prefill_tps", tps(r.prompt_tokens - r.cached_tokens, r.prefill_ms)},
                  {"decode_tps", tps(r.generated_tokens, r.decode_ms)}};
  const SamplingParams& s = r.sampling;
  j["sampling"] = {{"temperature", s.temperature},
                   {"top_p", s.top_p},
                   {"top_k", s.top_k},
                   {"min_p", s.min_p},
                   {"repeat_penalty", s.repeat_penalty},
                   {"presence_penalty", s.presence_penalty},
                   {"frequency_penalty", s.frequency_penalty},
                   {"penalty_last_n", s.penalty_last_n},
                   {"seed", r.seed}};
  if (r.extra.is_object())
    for (const auto& [k, v] : r.extra.items()) j[k] = v;
  return j;
}

TraceWriter::TraceWriter(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot open trace file '{}': {}", path, std::strerror(errno));
}

TraceWriter::~TraceWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void TraceWriter::append(const TraceRecord& r) const { append_json(trace_to_json(r)); }

void TraceWriter::append_json(const nlohmann::ordered_json& line) const {
  std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.push_back('\n');
  ssize_t n;
  do {
    n = ::write(fd_, text.data(), text.size());
  } while (n < 0 && errno == EINTR);  // interrupted before anything was written
  if (n < 0) fail("cannot write trace file '{}': {}", path_, std::strerror(errno));
  if (size_t(n) != text.size())
    fail("short write to trace file '{}' ({} of {} bytes; disk full?)", path_, n, text.size());
}

}  // namespace r1
