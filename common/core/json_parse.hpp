#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pb {

// The one way outside text becomes a JSON tree. nlohmann's own parse builds
// trees of any depth, and copies, comparisons, dump() and destructors of such a
// tree recurse once per level: 140,000 '[' in a request body ran pbd off its
// stack. This parse reads events (json::sax_parse, iterative) and counts depth,
// so nothing deeper than the limit is ever built, and applies the grammar the
// JWT scanner (common/tokens/json_scan) applies:
//  - exactly one value, nothing after it but whitespace (no NUL, no garbage),
//    no byte order mark;
//  - UTF-8 only, every string and member name well formed;
//  - no duplicate member names in any object (compared after unescaping);
//  - numbers that are an int64, a uint64 or a finite double: an integer
//    literal beyond uint64 (18446744073709551616) or 1e400 is refused, never
//    rounded or made infinite.
// Failures are pb::Error(invalid_argument) whose message starts with `what`
// ("request body: JSON nested deeper than 64 levels"); no library text and no
// piece of the input (which may hold a secret) is in it.

// Request bodies, WebSocket messages, CLI parameters, JWT parts, ban imports,
// Vault and Redis replies: what arrives from outside. The body object itself
// counts as level 1.
inline constexpr std::size_t k_max_json_depth = 64;
// Documents pb wrote itself that embed outside values (store columns, events,
// pbd's answers read by pbctl): room for the wrappers around a 64-level value.
inline constexpr std::size_t k_max_stored_json_depth = 256;

struct JsonLimits {
    std::size_t max_depth = k_max_json_depth;
};

// Throws pb::Error(invalid_argument) "<what>: …" when `text` is not one strict
// JSON value within `limits`.
nlohmann::json parse_json(std::string_view text, std::string_view what, JsonLimits limits = {});

// The same parse for callers that handle a bad document themselves (a store
// column, a peer's message): the discarded value (is_discarded()) on failure,
// like json::parse(text, nullptr, false).
nlohmann::json parse_json_or_discarded(std::string_view text, JsonLimits limits = {});

// True when every string and member name in `j` is valid UTF-8 (a tree built
// from words, e.g. CLI arguments or a decoded query string, can hold any bytes;
// dump() would throw on them). Depth-bounded trees only: it recurses.
bool is_utf8_tree(const nlohmann::json& j);
// True when `text` is well-formed UTF-8 (RFC 3629).
bool is_utf8(std::string_view text);

}  // namespace pb
