// r1 inspect on safetensors: a .safetensors file, a model.safetensors.index.json, or a
// directory holding either (format/safetensors.hpp resolves which). Lists the tensors
// (name, dtype, shape, bytes, shard), the shards, each shard's __metadata__ and the
// index's "metadata", and totals (parameters, bytes per dtype). Reads the headers only.
#pragma once
#include <string>

namespace r1::cli {

// True for a directory, a name ending in .safetensors or .json, or a file whose first
// bytes look like a safetensors header (not "GGUF", '{' after the 8-byte length).
bool is_safetensors_path(const std::string& path);

// Prints the listing (text, or one JSON object with `json`) to stdout; returns 0.
// Throws r1::Error for a file, index or directory that does not validate.
int inspect_safetensors(const std::string& path, bool json);

}  // namespace r1::cli
