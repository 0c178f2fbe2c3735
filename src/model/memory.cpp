#include "model/memory.hpp"

#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "base/log.hpp"

namespace r1 {

uint64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream ss(line.substr(13));
    uint64_t kib = 0;
    std::string unit;
    if (ss >> kib >> unit && unit == "kB") return kib * 1024;
    return 0;
  }
  return 0;
}

void check_weights_fit(const std::string& file, uint64_t weight_bytes, uint64_t available, bool allow_paging) {
  if (available == 0 || weight_bytes <= available) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  if (!allow_paging)
    fail("{}: the weights need {:.2f} GiB but only {:.2f} GiB of memory is available; free memory, use a smaller "
         "quantization, or allow running from the memory map with weights paged in from disk (--allow-paging; much "
         "slower)",
         file, weight_bytes / kGiB, available / kGiB);
  log(LogLevel::warn, "{}: the weights ({:.2f} GiB) exceed the available memory ({:.2f} GiB); running from the memory "
      "map, weights are paged in from disk as needed", file, weight_bytes / kGiB, available / kGiB);
}

}  // namespace r1
