// Slot files: a slot's tokens and KV cache on disk (POST /slots/{id}?action=save|restore).
//
// Contracts:
// - Files live only in the operator's --slot-save-path directory; a request names a plain
//   file name ([A-Za-z0-9][A-Za-z0-9._-]{0,127}, no ".."), never a path
//   (valid_slot_file_name).
// - write_slot_file() is atomic (temporary file, fsync, rename: base/atomic_file.hpp).
// - read_slot_file() checks everything before returning: the magic, that the KV rows are
//   this model's (bytes per token), the token count (at most max_tokens) and the ids
//   (below n_vocab), and that the file is exactly that long; else r1::Error naming the
//   problem.
// Layout: "R1SLOT\0\1", u64 KV bytes per token, u64 token count, the ids (i32), the KV blob
// (KvCache::save), little-endian.
#pragma once
#include <cstdint>
#include <string>

#include "engine/session.hpp"

namespace r1::serve {

bool valid_slot_file_name(const std::string& name);
// Returns the bytes written.
size_t write_slot_file(const std::string& path, const Session::Snapshot& s, uint64_t kv_bytes_per_token);
Session::Snapshot read_slot_file(const std::string& path, uint64_t kv_bytes_per_token, int64_t max_tokens, int32_t n_vocab);

}  // namespace r1::serve
