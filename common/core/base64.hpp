#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pb {

// base64url without padding (RFC 4648 §5), as JOSE uses it.
std::string base64url_encode(std::string_view bytes);
// Strict: rejects padding, whitespace, characters outside the alphabet and
// non-canonical trailing bits. nullopt on any of them.
std::optional<std::string> base64url_decode(std::string_view text);

// Standard base64 with padding (RFC 4648 §4), for stored ciphertexts.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pb
