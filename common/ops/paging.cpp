#include "common/ops/paging.hpp"

#include "common/core/base64.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;

[[noreturn]] void bad_cursor(std::string_view list, std::string_view why) {
    throw Error(ErrorCode::invalid_argument,
                "cursor: " + std::string(why) + "; pass the next_cursor of a previous " +
                    std::string(list) + " page, or no cursor for the first page",
                {{"param", "cursor"}});
}

}  // namespace

Param limit_param(std::string_view rows) {
    return Param{.name = "limit",
                 .type = ParamType::integer,
                 .help = "At most this many " + std::string(rows) + " per page (1 to " +
                         std::to_string(k_max_page) + "; next_cursor says when more exist)",
                 .fallback = k_default_page,
                 .min = 1};
}

Param cursor_param() {
    return Param{.name = "cursor",
                 .help = "The next_cursor of the previous page (none: the first page)"};
}

std::int64_t page_limit(const json& args) {
    const auto limit = args.value("limit", k_default_page);
    if (limit < 1 || limit > k_max_page) {
        throw Error(ErrorCode::invalid_argument,
                    "limit: must be between 1 and " + std::to_string(k_max_page),
                    {{"param", "limit"}});
    }
    return limit;
}

std::string encode_cursor(std::string_view list, const json& position) {
    json all = json::array({list});
    for (const auto& v : position) {
        all.push_back(v);
    }
    return base64url_encode(all.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::optional<json> decode_cursor(const json& args, std::string_view list,
                                  std::initializer_list<CursorPart> parts) {
    const auto it = args.find("cursor");
    if (it == args.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_string()) {
        bad_cursor(list, "must be a string");
    }
    const auto& text = it->get_ref<const std::string&>();
    if (text.empty()) {
        return std::nullopt;
    }
    if (text.size() > k_max_cursor_size) {
        bad_cursor(list, "too long to be a cursor");
    }
    const auto decoded = base64url_decode(text);
    if (!decoded) {
        bad_cursor(list, "not a cursor");
    }
    const auto doc = parse_json_or_discarded(*decoded, {.max_depth = 2});
    if (doc.is_discarded() || !doc.is_array() || doc.empty() || !doc[0].is_string()) {
        bad_cursor(list, "not a cursor");
    }
    if (doc[0].get<std::string>() != list) {
        bad_cursor(list, "a cursor of another list");
    }
    if (doc.size() != parts.size() + 1) {
        bad_cursor(list, "not a cursor");
    }
    json position = json::array();
    std::size_t i = 1;
    for (const auto part : parts) {
        const auto& v = doc[i++];
        if ((part == CursorPart::integer && !v.is_number_integer()) ||
            (part == CursorPart::text && !v.is_string())) {
            bad_cursor(list, "not a cursor");
        }
        position.push_back(v);
    }
    return position;
}

json cursor_json(const std::optional<std::string>& cursor) {
    return cursor ? json(*cursor) : json(nullptr);
}

}  // namespace pb::ops
