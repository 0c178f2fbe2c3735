#include "base/log.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace r1 {

static LogLevel initial_level() {
  const char* env = std::getenv("R1_LOG");
  if (!env) return LogLevel::warn;
  if (!std::strcmp(env, "debug")) return LogLevel::debug;
  if (!std::strcmp(env, "info")) return LogLevel::info;
  if (!std::strcmp(env, "error")) return LogLevel::error;
  if (!std::strcmp(env, "silent")) return LogLevel::silent;
  return LogLevel::warn;
}

static std::atomic<LogLevel> g_level{initial_level()};

LogLevel log_level() { return g_level.load(std::memory_order_relaxed); }
void set_log_level(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }

}  // namespace r1
