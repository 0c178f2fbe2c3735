// Validation of every name a server (or a user) gives that ends up in a path.
//
// Contract: a name that passes these checks, joined under a cache directory, stays
// inside that directory (no "..", no absolute path, no empty or "." component, no
// backslash, NUL or control character). The check_* functions throw r1::Error
// naming `what` and the offending value; the is_* functions only answer.
#pragma once
#include <string_view>

namespace r1::pull {

// Exactly 64 lowercase hex characters (a sha256 digest as registries write it).
bool is_sha256_hex(std::string_view s);
// Exactly 40 lowercase hex characters (a git commit or blob id).
bool is_git_sha1_hex(std::string_view s);

// A relative path of one or more '/'-separated components (a file in a repository,
// a git revision such as "refs/pr/1"); at most 1,024 bytes.
bool is_safe_relative_path(std::string_view s);
void check_relative_path(std::string_view s, std::string_view what);

// One path component made of [A-Za-z0-9._-] only, not "." or "..", at most 255 bytes
// (an ETag used as a blob file name, an ollama name part).
bool is_safe_component(std::string_view s);
void check_component(std::string_view s, std::string_view what);

// A Hugging Face repository id: "name" or "org/name", each part [A-Za-z0-9._-]
// starting and ending with a letter or digit, no "--" or ".." anywhere, at most 96
// bytes (huggingface_hub's validate_repo_id).
bool is_valid_hf_repo_id(std::string_view s);

// "sha256:<64 hex>", the digest form of the ollama registry; returns the hex part or
// throws naming `what`.
std::string_view check_sha256_digest(std::string_view digest, std::string_view what);

}  // namespace r1::pull
