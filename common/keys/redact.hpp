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

// A value given where a key's id belongs, as pb may log or echo it: the id
// when it is shaped like one (k_id_length letters and digits), `pb_<id>_…`
// for a whole key of pb's, else "…": no key id, so perhaps a whole key of
// another system (keys.import takes any text), which pb cannot recognise.
std::string redact_key_id(std::string_view value);

// A request target (path and query) as pbd logs it: percent-decoded first, so
// that `pb%5F<id>_<secret>` is cut like `pb_<id>_<secret>`, then redacted;
// the segment after /v1/keys/ (where a key's id belongs) as redact_key_id
// cuts it, but for the keys routes' own words (verify, import). A target
// with a broken escape is redacted as sent, its escapes left as they are.
std::string redact_keys_in_target(std::string_view target);

// A keys.* op's arguments as the audit records and logs them: its "id" as
// redact_key_id cuts it. Other ops' arguments are left as they are.
void redact_key_id_arg(std::string_view op, nlohmann::json& args);

// The same over every string (and object key) of a JSON value.
nlohmann::json redact_keys_json(const nlohmann::json& value);

// `e` with its message and details redacted; same code.
Error redact_keys_error(const Error& e);

}  // namespace pb::keys
