// Reading a small text file the user named (a grammar, a schema, a prompt).
#pragma once
#include <cstdint>
#include <string>

namespace r1 {

// The whole file. Throws r1::Error naming the path when it cannot be opened or read,
// is not a regular file, or has more than max_bytes bytes.
std::string read_file_text(const std::string& path, uint64_t max_bytes);

}  // namespace r1
