// Names of models that `r1 pull` fetches and `-m` accepts.
//
//   hf://ORG/REPO[:SELECTOR][@REVISION]   a Hugging Face repository; SELECTOR is a quant tag
//                                         (Q4_K_M: the GGUF files whose name contains it,
//                                         case-insensitively, all parts of a split file) or
//                                         a file name (anything ending in .gguf); REVISION
//                                         defaults to main
//   [HOST/][NAMESPACE/]NAME[:TAG]         an ollama registry model (deepseek-r1:1.5b =
//                                         registry.ollama.ai/library/deepseek-r1:1.5b)
//
// parse_model_ref throws r1::Error naming the problem; every part that becomes a path
// passes safe_names.hpp.
#pragma once
#include <string>

namespace r1::pull {

struct ModelRef {
  enum class Kind { hf, ollama };
  Kind kind = Kind::hf;
  std::string repo, selector, revision = "main";                                       // hf
  std::string host = "registry.ollama.ai", ns = "library", name, tag = "latest";  // ollama
  std::string text() const;  // canonical form (hf://org/repo:sel, host/ns/name:tag)
};

ModelRef parse_model_ref(const std::string& s);

// True when `s` names a model to resolve from the pull caches rather than a path: it starts
// with hf://, or it is not an existing path, has no '.gguf' / '.json' ending and parses as an
// ollama name.
bool is_pulled_model_name(const std::string& s);

}  // namespace r1::pull
