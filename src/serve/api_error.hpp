// Errors answered in OpenAI's JSON shape:
//   {"error": {"message": ..., "type": ..., "param": ... | null, "code": ... | null}}
#pragma once
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace r1::serve {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string param = {},
           std::string code = {})
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}

  int status;         // HTTP status
  std::string type;   // invalid_request_error | authentication_error | not_found_error | rate_limit_error | server_error
  std::string param;  // the request field at fault ("" -> null)
  std::string code;   // machine-readable code ("" -> null)

  nlohmann::json to_json() const {
    nlohmann::json e = {{"message", what()}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) e["code"] = code;
    return {{"error", e}};
  }
};

// A 400 about one request field.
inline ApiError bad_param(const std::string& param, const std::string& message) {
  return ApiError(400, message, "invalid_request_error", param);
}

}  // namespace r1::serve
