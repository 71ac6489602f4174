#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pb {

// The value of a hexadecimal digit, or -1.
int hex_digit(char c);

// What a '+' means: itself (a URL's path or userinfo), or a space (a query
// string, as HTML forms encode it).
enum class Plus { literal, space };

// Decodes %XX escapes (RFC 3986 §2.1). nullopt on a broken escape, which
// each caller reports in its own terms.
std::optional<std::string> percent_decode(std::string_view text, Plus plus = Plus::literal);

}  // namespace pb
