// pbd on PostgreSQL: several daemons on one database, and the database going away.
#include <atomic>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/test_db.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// Limits off: these tests send many requests from one address on purpose.
DaemonOptions on_postgres(const std::string& url, const TempDir& dir) {
    return DaemonOptions{.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")},
                                 {"PB_LIMITS_IP_RATE", "off"},
                                 {"PB_LIMITS_USER_RATE", "off"},
                                 {"PB_LIMITS_KEY_RATE", "off"}},
                         .db = url};
}

json verify(httplib::Client& c, const std::string& key, int* status = nullptr) {
    const auto res = c.Post("/v1/keys/verify", json{{"key", key}}.dump(), "application/json");
    if (status != nullptr) {
        *status = status_of(res);
    }
    return body_json(res);
}

// The created key's JSON: {"key": secret text, "id": …, …}.
json create_key(const RunningDaemon& pbd, const std::string& admin, const json& body) {
    const auto res = pbd.client()->Post("/v1/keys", bearer(admin), body.dump(), "application/json");
    EXPECT_EQ(status_of(res), 201) << (res ? res->body : "no answer");
    const auto j = body_json(res);
    return j.is_object() ? j : json{{"key", ""}, {"id", ""}};
}

class DaemonsOnPostgres : public ::testing::Test {
  protected:
    TempDir dir;
    TestDb db{Backend::postgres};
};

// Two daemons verifying one key with 100 remaining uses 1,000 times together
// grant exactly 100; the second daemon made no second bootstrap admin.
TEST_F(DaemonsOnPostgres, SharedRemainingUsesAreNeverOverspent) {
    RunningDaemon a(dir, on_postgres(db.url(), dir));
    RunningDaemon b(dir, on_postgres(db.url(), dir));
    const auto admin = a.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << a.err();
    // b found a's admin key and wrote none (both would use dir/bootstrap-admin.key).
    EXPECT_EQ(b.out().find("bootstrap admin key written"), std::string::npos) << b.out();
    const std::string key =
        create_key(a, admin, {{"owner", "ci"}, {"remaining", 100}}).value("key", "");
    ASSERT_FALSE(key.empty());
    std::atomic<int> granted{0};
    std::atomic<int> failed{0};
    auto run = [&](const RunningDaemon& pbd) {
        auto c = pbd.client();
        for (int i = 0; i < 500; ++i) {
            int status = 0;
            const auto r = verify(*c, key, &status);
            if (status != 200) {
                ++failed;
            } else if (r.value("valid", false)) {
                ++granted;
            }
        }
    };
    std::thread ta([&] { run(a); });
    std::thread tb([&] { run(b); });
    ta.join();
    tb.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(granted.load(), 100);
}

// A revoke through one daemon is refused by both: at once by the one that
// made it, and by the other as soon as PostgreSQL's NOTIFY reaches it.
TEST_F(DaemonsOnPostgres, RevokeThroughOneIsSeenByBoth) {
    RunningDaemon a(dir, on_postgres(db.url(), dir));
    RunningDaemon b(dir, on_postgres(db.url(), dir));
    const auto admin = a.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << a.err();
    const auto created = create_key(a, admin, {{"owner", "ci"}});
    const std::string key = created.value("key", "");
    const std::string id = created.value("id", "");
    auto ca = a.client();
    auto cb = b.client();
    ASSERT_TRUE(verify(*cb, key).value("valid", false));  // cached by b
    ASSERT_EQ(
        status_of(ca->Post("/v1/keys/" + id + "/revoke", bearer(admin), "{}", "application/json")),
        200);
    EXPECT_EQ(verify(*ca, key).value("reason", ""), "revoked");
    bool seen = false;
    for (int i = 0; i < 200 && !seen; ++i) {  // bounded: two seconds
        seen = verify(*cb, key).value("reason", "") == "revoked";
        if (!seen) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    EXPECT_TRUE(seen);
}

// A PostgreSQL server of this test's own, so stopping it disturbs no other test.
class OwnServer {
  public:
    OwnServer() : m_state(m_dir.file("pg")) { EXPECT_EQ(script("start"), 0); }
    ~OwnServer() { script("stop"); }
    int script(const std::string& action) {
        const char* path = std::getenv("PATH");
        return run({"/bin/bash", std::string(PB_SOURCE_DIR) + "/tests/support/pg_server.sh", action,
                    m_state},
                   {{"PATH", path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin"}}, "",
                   std::chrono::seconds(60))
            .exit_code;
    }
    std::string url() const {
        return read_file(m_state + "/url").substr(0, read_file(m_state + "/url").find('\n'));
    }

  private:
    TempDir m_dir;
    std::string m_state;
};

// PostgreSQL stopped under a running pbd: requests that need it get 503
// unavailable, /health says so, pbd keeps running, and it recovers by itself
// when the server is back.
TEST(DaemonPostgresOutage, AnswersUnavailableThenRecovers) {
    OwnServer server;
    TempDir dir;
    RunningDaemon pbd(dir, on_postgres(server.url(), dir));
    const auto admin = pbd.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << pbd.err();
    const std::string key = create_key(pbd, admin, {{"owner", "ci"}}).value("key", "");
    auto c = pbd.client();
    ASSERT_TRUE(verify(*c, key).value("valid", false));

    ASSERT_EQ(server.script("halt"), 0);
    int status = 0;
    const auto down = verify(*c, key, &status);
    EXPECT_EQ(status, 503) << down.dump();
    EXPECT_EQ(down.value("code", ""), "unavailable") << down.dump();
    const auto health = c->Get("/health");
    EXPECT_EQ(status_of(health), 503);
    EXPECT_EQ(body_json(health)["components"]["db"].value("status", ""), "unavailable")
        << (health ? health->body : "");
    EXPECT_TRUE(pbd.process().running());

    ASSERT_EQ(server.script("resume"), 0);
    bool back = false;
    for (int i = 0; i < 100 && !back; ++i) {  // bounded: ten seconds
        back = status_of(c->Get("/health")) == 200 && verify(*c, key).value("valid", false);
        if (!back) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    EXPECT_TRUE(back) << pbd.err();
    EXPECT_TRUE(pbd.process().running());
}

}  // namespace
}  // namespace pb::test
