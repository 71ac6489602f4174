#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/error.hpp"

namespace pb::keys {

// Cuts everything shaped like an API key (`pb_<id>_<secret…>`, see format.hpp;
// the checksum is not needed: a mistyped key is still mostly secret) to its
// public id, `pb_<id>_…`. For any text pb logs or echoes that may hold what a
// caller sent: a URL path or query, an argument, an error message.
std::string redact_keys(std::string_view text);

// A request target (path and query) as pbd logs it: percent-decoded first, so
// that `pb%5F<id>_<secret>` is cut like `pb_<id>_<secret>`, then redacted. A
// target with a broken escape is redacted as sent, its escapes left as they are.
std::string redact_keys_in_target(std::string_view target);

// The same over every string (and object key) of a JSON value.
nlohmann::json redact_keys_json(const nlohmann::json& value);

// `e` with its message and details redacted; same code.
Error redact_keys_error(const Error& e);

}  // namespace pb::keys
