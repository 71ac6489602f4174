#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ops/op.hpp"

// Keyset pagination for list ops, the same for every list: `limit` rows a page
// and an opaque `cursor` naming the sort key of the last row given, so a page
// starts right after it whatever was added or removed meanwhile (no OFFSET,
// nothing skipped or repeated when rows share a timestamp). A list answers
// `next_cursor`: null on the last page.
namespace pb::ops {

inline constexpr std::int64_t k_default_page = 100;
inline constexpr std::int64_t k_max_page = 1000;
// A cursor pb writes is well under this; longer text is refused unread.
inline constexpr std::size_t k_max_cursor_size = 2048;

// The `limit` param of a list of `rows` ("keys"): its help names the default
// and the maximum.
Param limit_param(std::string_view rows);
// The `cursor` param: the next_cursor of the previous page.
Param cursor_param();

// args["limit"], checked to be 1 to k_max_page. Throws Error(invalid_argument,
// details.param "limit").
std::int64_t page_limit(const nlohmann::json& args);

// What each value of a cursor's position is.
enum class CursorPart { integer, text };

// The cursor of the page after a row whose sort key is `position` (an array of
// integers and strings), in the list `list`: base64url of ["<list>", …].
std::string encode_cursor(std::string_view list, const nlohmann::json& position);

// The position in args["cursor"] (an array of `parts`), or nullopt when there
// is no cursor (the first page). Throws Error(invalid_argument, details.param
// "cursor") for anything else: garbage, a cursor of another list, a cursor too
// long, values of the wrong kinds.
std::optional<nlohmann::json> decode_cursor(const nlohmann::json& args, std::string_view list,
                                            std::initializer_list<CursorPart> parts);

// The next_cursor field: the text, or null when there is no next page.
nlohmann::json cursor_json(const std::optional<std::string>& cursor);

// One page of a list held in memory, sorted by a unique name (`name_of`):
// the rows after the cursor's name in args, at most args' limit of them, and
// the cursor of the next page when more follow. Errors as page_limit and
// decode_cursor.
template <class T, class NameOf>
std::pair<std::vector<T>, std::optional<std::string>> page_by_name(const std::vector<T>& sorted,
                                                                   std::string_view list,
                                                                   const nlohmann::json& args,
                                                                   NameOf name_of) {
    const auto limit = page_limit(args);
    const auto after = decode_cursor(args, list, {CursorPart::text});
    std::vector<T> page;
    std::optional<std::string> next;
    for (const auto& row : sorted) {
        const std::string name = name_of(row);
        if (after && name <= (*after)[0].template get<std::string>()) {
            continue;
        }
        if (static_cast<std::int64_t>(page.size()) == limit) {
            next = encode_cursor(list, nlohmann::json::array({name_of(page.back())}));
            break;
        }
        page.push_back(row);
    }
    return {std::move(page), std::move(next)};
}

}  // namespace pb::ops
