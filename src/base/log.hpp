// Minimal leveled logging to stderr. The level is process-wide and set once by the
// front end (R1_LOG=debug|info|warn|error or a CLI flag); the library never prints
// to stdout.
#pragma once
#include <fmt/format.h>

#include <cstdio>

namespace r1 {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, silent = 4 };
LogLevel log_level();
void set_log_level(LogLevel level);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (level < log_level()) return;
  static const char* names[] = {"debug", "info", "warn", "error", ""};
  std::string msg = fmt::format(f, std::forward<Args>(args)...);
  std::fprintf(stderr, "r1 %s: %s\n", names[static_cast<int>(level)], msg.c_str());
}

}  // namespace r1
