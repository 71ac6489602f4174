// states.list: filters and cursor pagination.
#include <set>

#include <gtest/gtest.h>

#include "tests/unit/states/state_fixture.hpp"

namespace pb::states::test {
namespace {

using nlohmann::json;

using StateList = StateServiceTest;

std::vector<std::string> ids(const StatePage& p) {
    std::vector<std::string> out;
    for (const auto& s : p.states) {
        out.push_back(s.id);
    }
    return out;
}

// Pins paging: pages in id order, a next_cursor until the last page, every
// state exactly once.
TEST_P(StateList, PagesCoverEveryStateOnce) {
    for (int i = 0; i < 25; ++i) {
        make("s" + std::string(i < 10 ? "0" : "") + std::to_string(i));
    }
    std::vector<std::string> seen;
    ListFilter f{.limit = 10};
    int pages = 0;
    for (; pages < 10; ++pages) {
        const auto p = service->list(f);
        const auto got = ids(p);
        seen.insert(seen.end(), got.begin(), got.end());
        if (!p.next_cursor) {
            break;
        }
        EXPECT_EQ(got.size(), 10U);
        f.cursor = *p.next_cursor;
    }
    EXPECT_EQ(pages, 2);
    ASSERT_EQ(seen.size(), 25U);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 25U);
    // An exact multiple of the page size ends without an empty extra page.
    EXPECT_FALSE(service->list(ListFilter{.limit = 25}).next_cursor);
}

// Pins stability: states added (before and after the cursor) and deleted
// while paging never make a listed state repeat or a remaining one vanish.
TEST_P(StateList, CursorIsStableAcrossInsertsAndDeletes) {
    for (const auto* id : {"b", "d", "f", "h", "j"}) {
        make(id);
    }
    auto p = service->list(ListFilter{.limit = 2});
    EXPECT_EQ(ids(p), (std::vector<std::string>{"b", "d"}));
    make("a");  // before the cursor: not seen on later pages
    make("e");  // after it: seen
    service->remove("b", {}, "bob");
    p = service->list(ListFilter{.limit = 2, .cursor = *p.next_cursor});
    EXPECT_EQ(ids(p), (std::vector<std::string>{"e", "f"}));
    p = service->list(ListFilter{.limit = 2, .cursor = *p.next_cursor});
    EXPECT_EQ(ids(p), (std::vector<std::string>{"h", "j"}));
    EXPECT_FALSE(p.next_cursor);
}

// Pins the type and status filters, alone and together, with paging.
TEST_P(StateList, FiltersByTypeAndStatus) {
    make("sess1");
    make("sess2");
    make("sess3");
    service->register_state(NewState{.id = "feat1", .type = StateType::feature}, "alice");
    service->transition("sess2", Transition::suspend, {}, {}, "bob");
    EXPECT_EQ(ids(service->list(ListFilter{.type = StateType::session})),
              (std::vector<std::string>{"sess1", "sess2", "sess3"}));
    EXPECT_EQ(ids(service->list(ListFilter{.type = StateType::session, .status = Status::active})),
              (std::vector<std::string>{"sess1", "sess3"}));
    EXPECT_EQ(ids(service->list(ListFilter{.status = Status::active})),
              (std::vector<std::string>{"feat1", "sess1", "sess3"}));
    EXPECT_EQ(ids(service->list(ListFilter{.status = Status::suspended})),
              (std::vector<std::string>{"sess2"}));
    EXPECT_TRUE(service->list(ListFilter{.type = StateType::user}).states.empty());
    const auto first =
        service->list(ListFilter{.type = StateType::session, .status = Status::active, .limit = 1});
    ASSERT_TRUE(first.next_cursor);
    const auto second = service->list(ListFilter{.type = StateType::session,
                                                 .status = Status::active,
                                                 .limit = 1,
                                                 .cursor = *first.next_cursor});
    EXPECT_EQ(ids(second), (std::vector<std::string>{"sess3"}));
    EXPECT_FALSE(second.next_cursor);
}

// Pins that a bad limit or cursor is invalid_argument.
TEST_P(StateList, BadLimitOrCursor) {
    EXPECT_EQ(error_code_of([&] { service->list(ListFilter{.limit = 0}); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { service->list(ListFilter{.limit = k_max_page + 1}); }),
              ErrorCode::invalid_argument);
    for (const auto* c : {"!!", "abc", "aWQ"}) {  // not base64url / not ours / "id" alone
        EXPECT_EQ(error_code_of([&] { service->list(ListFilter{.cursor = c}); }),
                  ErrorCode::invalid_argument)
            << c;
    }
}

PB_INSTANTIATE_BACKENDS(StateList);

}  // namespace
}  // namespace pb::states::test
