#include "common/ops/paging.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/base64.hpp"
#include "common/core/error.hpp"
#include "common/runtime/op_table.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;

// The error `fn` throws (a test failure when it throws none).
template <class F>
Error error_of(F fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error";
    return Error(ErrorCode::internal, "none");
}

// A cursor decodes to the position it was made from, in its own list only.
TEST(Paging, CursorsRoundTripInTheirOwnList) {
    const auto c = encode_cursor("keys", json::array({1'700'000'000'123, "abc"}));
    const auto pos =
        decode_cursor({{"cursor", c}}, "keys", {CursorPart::integer, CursorPart::text});
    ASSERT_TRUE(pos.has_value());
    EXPECT_EQ(*pos, json::array({1'700'000'000'123, "abc"}));
    // No cursor, a null or an empty one: the first page.
    EXPECT_FALSE(decode_cursor(json::object(), "keys", {CursorPart::integer}).has_value());
    EXPECT_FALSE(decode_cursor({{"cursor", nullptr}}, "keys", {CursorPart::integer}).has_value());
    EXPECT_FALSE(decode_cursor({{"cursor", ""}}, "keys", {CursorPart::integer}).has_value());
}

// Anything that is not a cursor of this list is invalid_argument naming
// "cursor": garbage, another list's, too long, wrong shapes and kinds.
TEST(Paging, HostileCursorsAreInvalidArguments) {
    const auto keys = encode_cursor("keys", json::array({1, "a"}));
    for (const json& bad :
         {json("!!!"), json(base64url_encode("not json")),
          json(encode_cursor("bans", json::array({1, 2}))),
          json(encode_cursor("keys", json::array({"x", "a"}))),
          json(encode_cursor("keys", json::array({1}))),
          json(encode_cursor("keys", json::array({1, "a", 3}))),
          json(base64url_encode("[[[[[[[[[[\"keys\"]]]]]]]]]]")),
          json(base64url_encode("{\"keys\":1}")), json(base64url_encode("[]")),
          json(std::string(k_max_cursor_size + 1, 'A')), json(12), json::array()}) {
        SCOPED_TRACE(bad.dump().substr(0, 80));
        const auto e = error_of([&] {
            decode_cursor({{"cursor", bad}}, "keys", {CursorPart::integer, CursorPart::text});
        });
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(e.details().value("param", ""), "cursor");
        EXPECT_EQ(std::string(e.what()).rfind("cursor: ", 0), 0U) << e.what();
    }
    EXPECT_TRUE(decode_cursor({{"cursor", keys}}, "keys", {CursorPart::integer, CursorPart::text})
                    .has_value());
}

// limit is 1 to 1000; 100 when not given.
TEST(Paging, LimitsAreBounded) {
    EXPECT_EQ(page_limit(json::object()), k_default_page);
    EXPECT_EQ(page_limit({{"limit", 1}}), 1);
    EXPECT_EQ(page_limit({{"limit", k_max_page}}), k_max_page);
    for (const auto bad : {std::int64_t{0}, std::int64_t{-1}, k_max_page + 1}) {
        const auto e = error_of([&] { page_limit({{"limit", bad}}); });
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(e.details().value("param", ""), "limit");
    }
}

// page_by_name walks a sorted list from the cursor's name: every row once.
TEST(Paging, PagesByNameGiveEveryRowOnce) {
    const std::vector<std::string> all{"a", "b", "c", "d", "e"};
    const auto name = [](const std::string& s) { return s; };
    std::vector<std::string> seen;
    json args{{"limit", 2}};
    for (int i = 0; i < 5; ++i) {
        const auto [page, next] = page_by_name(all, "names", args, name);
        seen.insert(seen.end(), page.begin(), page.end());
        if (!next) {
            break;
        }
        args["cursor"] = *next;
    }
    EXPECT_EQ(seen, all);
    // Exactly a page: no next cursor.
    EXPECT_FALSE(page_by_name(all, "names", {{"limit", 5}}, name).second.has_value());
}

// Every list op pages the same way: limit and cursor params, the limit's help
// naming its range and default, a -q field for its rows.
TEST(Paging, EveryListOpHasTheSameParams) {
    for (const char* name : {"keys.list", "bans.list", "audit.list", "secrets.list",
                             "tokens.issuers.list", "tokens.keys.list", "states.list"}) {
        SCOPED_TRACE(name);
        const auto* op = runtime::op_table().find(name);
        ASSERT_NE(op, nullptr);
        const auto* limit = op->find_param("limit");
        ASSERT_NE(limit, nullptr);
        EXPECT_EQ(limit->fallback, k_default_page);
        EXPECT_NE(limit->help.find("1 to 1000"), std::string::npos) << limit->help;
        EXPECT_NE(op->find_param("cursor"), nullptr);
        EXPECT_FALSE(op->quiet_field.empty());
        EXPECT_FALSE(op->list_field.empty());
    }
}

}  // namespace
}  // namespace pb::ops
