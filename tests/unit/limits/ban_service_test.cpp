#include <thread>

#include "common/events/outbox.hpp"
#include "tests/unit/limits/ban_fixture.hpp"

namespace pb::limits::test {
namespace {

// Targets parse into their kinds and print canonically; bad ones say why.
TEST(BanTarget, ParsesEveryKind) {
    EXPECT_EQ(parse_target("203.0.113.7").kind, BanKind::ip);
    EXPECT_EQ(parse_target("203.0.113.7/32").kind, BanKind::ip);
    EXPECT_EQ(parse_target("ip:203.0.113.7").text(), "203.0.113.7");
    EXPECT_EQ(parse_target("2001:db8::/32").kind, BanKind::range);
    EXPECT_EQ(parse_target("range:10.9.8.7/8").text(), "10.0.0.0/8");
    EXPECT_EQ(parse_target("user:mallory").text(), "user:mallory");
    EXPECT_EQ(parse_target("key:Ab3_x-9").value, "Ab3_x-9");
    for (const char* bad : {"", "mallory", "300.1.1.1", "10.0.0.0/33", "user:", "key:a b",
                            "ip:10.0.0.0/8", "user:a\tb"}) {
        try {
            parse_target(bad);
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << bad;
            EXPECT_NE(std::string(e.what()).find("target"), std::string::npos) << e.what();
        }
    }
}

// A ban on an address, a range, a user or a key is enforced; others pass.
TEST_P(BanServiceTest, AddAndCheck) {
    add("203.0.113.7", 4 * k_hour, "credential stuffing");
    // It holds the fixture's allowed 2001:db8:ffff::/48: a ban the operator forces.
    bans->add(
        NewBan{
            .target = "2001:db8::/32", .reason = "abusive range", .guard = AllowListGuard::force},
        "local:test");
    add("user:mallory");
    add("key:abc123");
    EXPECT_TRUE(banned("203.0.113.7"));
    EXPECT_FALSE(banned("203.0.113.8"));
    EXPECT_TRUE(banned("2001:db8::1"));
    EXPECT_TRUE(banned("2001:db8:1::/48"));  // a range inside a banned range
    EXPECT_FALSE(banned("2001:db9::1"));
    EXPECT_TRUE(banned("user:mallory"));
    EXPECT_FALSE(banned("user:alice"));
    EXPECT_TRUE(banned("key:abc123"));
    const auto b = bans->check("203.0.113.7");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->reason, "credential stuffing");
    EXPECT_EQ(b->created_by, "local:test");
    EXPECT_EQ(b->origin, BanOrigin::manual);
    EXPECT_EQ(b->expires_at, clock.now() + 4 * k_hour);
    EXPECT_NE(bans->match_caller({.address = parse_ip("10.0.0.1"), .user = "mallory"}), nullptr);
    EXPECT_EQ(bans->match_caller({.address = parse_ip("10.0.0.1"), .user = "alice"}), nullptr);
}

// Every change is an event on topic "bans", committed with it.
TEST_P(BanServiceTest, ChangesAreEvents) {
    add("203.0.113.7");
    bans->remove("203.0.113.7");
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM events WHERE topic = 'bans' AND type = 'ban.added'"), 1);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM events WHERE topic = 'bans' AND type = 'ban.removed'"),
              1);
    EXPECT_EQ(error_code_of([&] { bans->remove("203.0.113.7"); }), ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { add("203.0.113.7", 0); }), ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { add("203.0.113.7", std::nullopt, "a\nb"); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bans"), 0);
}

// An expired ban stops matching at once, still lists with --all, and is purged later.
TEST_P(BanServiceTest, ExpiryAndPurge) {
    add("203.0.113.7", 10 * k_minute);
    add("10.0.0.0/8", 20 * k_minute);
    add("10.1.0.0/16", 5 * k_minute);
    EXPECT_EQ(bans->check("10.1.2.3")->target.text(), "10.1.0.0/16");
    clock.advance(5 * k_minute);
    EXPECT_EQ(bans->check("10.1.2.3")->target.text(), "10.0.0.0/8");  // the outer one still holds
    clock.advance(5 * k_minute);
    EXPECT_FALSE(banned("203.0.113.7"));
    EXPECT_EQ(bans->list({}).size(), 1U);
    EXPECT_EQ(bans->list({.include_expired = true}).size(), 3U);
    EXPECT_EQ(bans->list({.kind = BanKind::range, .include_expired = true}).size(), 2U);
    EXPECT_EQ(bans->purge_expired(), 0);
    clock.advance(25 * k_hour);
    EXPECT_EQ(bans->purge_expired(), 3);
}

// Adding a ban on a banned target replaces it (a manual ban can shorten or lengthen it).
TEST_P(BanServiceTest, AddReplaces) {
    add("203.0.113.7", k_hour, "first");
    add("203.0.113.7", std::nullopt, "second");
    ASSERT_EQ(bans->list({}).size(), 1U);
    EXPECT_EQ(bans->list({}).front().reason, "second");
    EXPECT_FALSE(bans->list({}).front().expires_at.has_value());
}

// A ban written through another store and service (another process) is enforced by the next check.
TEST_P(BanServiceTest, BanFromAnotherProcessIsEnforcedAtOnce) {
    EXPECT_FALSE(banned("198.51.100.4"));  // loads the index
    auto other_store = open();
    BanService other(*other_store, clock, test_settings());
    other.add(NewBan{.target = "198.51.100.0/24", .duration_ms = k_hour, .reason = "x"}, "other");
    EXPECT_TRUE(seen([&] { return banned("198.51.100.4"); }));
    other.add(NewBan{.target = "user:eve"}, "other");
    EXPECT_TRUE(seen([&] { return banned("user:eve"); }));
    other.remove("198.51.100.0/24");
    EXPECT_TRUE(seen([&] { return !banned("198.51.100.4"); }));
}

// Many changes at once from elsewhere (more than a targeted reload) still all arrive.
TEST_P(BanServiceTest, ManyExternalChangesReloadEverything) {
    EXPECT_FALSE(banned("192.0.2.1"));
    auto other_store = open();
    BanService other(*other_store, clock, test_settings());
    std::vector<ImportRow> rows;
    for (int i = 0; i < 300; ++i) {
        rows.push_back({parse_target("192.0.2." + std::to_string(i % 256) + "/32"), std::nullopt,
                        "bulk", BanOrigin::manual});
        if (i >= 255) {
            rows.back().target = parse_target("user:u" + std::to_string(i));
        }
    }
    other.import(rows, "other");
    EXPECT_TRUE(seen([&] { return banned("192.0.2.1"); }));
    EXPECT_TRUE(banned("user:u299"));
}

// When the store fails while the index is refreshed, checks answer from the last index.
TEST_P(BanServiceTest, StoreFailureKeepsTheLastIndex) {
    add("203.0.113.7");
    EXPECT_TRUE(banned("203.0.113.7"));
    store->transaction([&](store::Connection& c) {
        c.exec("ALTER TABLE bans RENAME TO bans_gone");
        events::append(c, "bans", "ban.added", {{"target", "198.51.100.1"}}, clock.now());
    });
    EXPECT_NO_THROW(bans->match_address(*parse_ip("198.51.100.1")));
    EXPECT_TRUE(banned("203.0.113.7"));
    EXPECT_FALSE(banned("198.51.100.1"));
}

// Repeated automatic bans last longer each time, up to the maximum, with origin auto.
TEST_P(BanServiceTest, AutoBanEscalates) {
    const auto target = parse_target("198.51.100.4");
    std::vector<std::int64_t> durations;
    for (int i = 0; i < 6; ++i) {
        const auto b = bans->auto_ban(target, "too many requests");
        ASSERT_TRUE(b.has_value()) << i;
        EXPECT_EQ(b->origin, BanOrigin::auto_ban);
        EXPECT_EQ(b->created_by, "pb:auto");
        EXPECT_EQ(b->strikes, i + 1);
        durations.push_back(*b->expires_at - clock.now());
        // Already banned: nothing more.
        EXPECT_FALSE(bans->auto_ban(target, "again").has_value());
        clock.set(*b->expires_at);
    }
    EXPECT_EQ(durations, (std::vector<std::int64_t>{5 * k_minute, 10 * k_minute, 20 * k_minute,
                                                    40 * k_minute, k_hour, k_hour}));
    // Once the old bans are purged the count starts again.
    clock.advance(25 * k_hour);
    bans->purge_expired();
    EXPECT_EQ(bans->auto_ban(target, "x")->strikes, 1);
}

// The allow-list is never banned automatically (a manual ban is the operator's call).
TEST_P(BanServiceTest, AllowListIsNeverAutoBanned) {
    EXPECT_FALSE(bans->auto_ban(parse_target("127.0.0.1"), "x").has_value());
    EXPECT_FALSE(bans->auto_ban(parse_target("2001:db8:ffff::5"), "x").has_value());
    EXPECT_FALSE(bans->auto_ban(parse_target("127.0.0.0/30"), "x").has_value());
    EXPECT_FALSE(bans->auto_ban(parse_target("0.0.0.0/0"), "x").has_value());
    EXPECT_TRUE(bans->auto_ban(parse_target("2001:db8:fffe::5"), "x").has_value());
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bans"), 1);
    EXPECT_TRUE(bans->allow_listed(*parse_ip("127.1.2.3")));
    bans->add(NewBan{.target = "127.0.0.1", .guard = AllowListGuard::force}, "local:test");
    EXPECT_TRUE(banned("127.0.0.1"));
}

// A manual ban that would hold an allow-listed address (0.0.0.0/0 locks the
// operator out) is a conflict naming the allowed range, and writes nothing;
// force bans it; ranges beside the allow-list are not concerned.
TEST_P(BanServiceTest, ManualBanOfTheAllowListNeedsForce) {
    for (const char* target : {"0.0.0.0/0", "::/0", "127.0.0.1", "127.0.0.0/30", "64.0.0.0/2",
                               "2001:db8::/32", "2001:db8:ffff::9"}) {
        try {
            add(target);
            ADD_FAILURE() << target << " was banned";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::conflict) << target;
            EXPECT_NE(std::string(e.what()).find("bans.allow"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("force"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bans"), 0);
    EXPECT_THROW(bans->import({{parse_target("0.0.0.0/0"), std::nullopt, "x", BanOrigin::manual},
                               {parse_target("203.0.113.7"), std::nullopt, "y", BanOrigin::manual}},
                              "local:test"),
                 Error);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bans"), 0);
    add("128.0.0.0/1");
    add("2001:db8:fffe::/48");
    add("user:mallory");
    bans->add(NewBan{.target = "0.0.0.0/0", .guard = AllowListGuard::force}, "local:test");
    EXPECT_TRUE(banned("127.0.0.1"));
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bans"), 4);
}

// An import writes every row or none.
TEST_P(BanServiceTest, ImportIsAllOrNothing) {
    std::vector<ImportRow> rows{
        {parse_target("203.0.113.7"), std::nullopt, "a", BanOrigin::manual},
        {parse_target("user:x"), clock.now() + k_hour, "b", BanOrigin::auto_ban},
        {parse_target("key:k1"), clock.now() - 1, "old", BanOrigin::manual}};
    const auto r = bans->import(rows, "local:test");
    EXPECT_EQ(r.imported, 2);
    EXPECT_EQ(r.skipped_expired, 1);
    EXPECT_TRUE(banned("user:x"));
    // A failure inside the transaction (the bans table is gone) leaves nothing behind.
    store->transaction([](store::Connection& c) { c.exec("ALTER TABLE bans RENAME TO bans_old"); });
    EXPECT_ANY_THROW(bans->import(rows, "local:test"));
    store->transaction([](store::Connection& c) { c.exec("ALTER TABLE bans_old RENAME TO bans"); });
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bans"), 2);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM events WHERE topic = 'bans'"), 2);
}

// Checks on many threads while bans change stay consistent (no crash, final state seen).
TEST_P(BanServiceTest, ConcurrentChecksAndChanges) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t) {
        readers.emplace_back([&] {
            while (!stop.load()) {
                bans->match_address(*parse_ip("192.0.2.1"));
            }
        });
    }
    for (int i = 0; i < 50; ++i) {
        add("192.0.2.0/24");
        bans->remove("192.0.2.0/24");
    }
    add("192.0.2.1");
    stop = true;
    for (auto& t : readers) {
        t.join();
    }
    EXPECT_TRUE(banned("192.0.2.1"));
}

PB_INSTANTIATE_BACKENDS(BanServiceTest);

}  // namespace
}  // namespace pb::limits::test
