// The audit chain through pbd: its routes (/v1/audit, /v1/audit/verify,
// /v1/audit/hash), pbctl --server, a tampered row named over HTTP, and two
// daemons on one PostgreSQL writing at once into one whole chain.
#include <algorithm>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "common/store/store.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

constexpr const char* k_password = "pw-9e1f-audited-as-a-hash";

void tamper(const std::string& url, const std::string& statement) {
    auto st = store::open_store(url, store::StoreOptions{.pool_size = 1});
    st->transaction([&](store::Connection& c) { c.exec(statement); });
}

// Through pbd: rows of changes and secret reads, verify, hash and list over
// HTTP and pbctl --server; a changed row is a 409 naming it.
TEST(DaemonAudit, ChainOverHttpAndPbctlServer) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")},
                                                 {"PB_AUDIT_FILE", dir.file("audit.jsonl")}}});
    const auto admin = pbd.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << pbd.err();
    auto c = pbd.client();
    created_key(pbd, admin, {{"owner", "ci"}});
    auto res = c->Put("/v1/secrets/app/db", bearer(admin),
                      json{{"data", {{"password", k_password}}}}.dump(), "application/json");
    ASSERT_EQ(status_of(res), 200) << res->body;
    ASSERT_EQ(status_of(c->Get("/v1/secrets/app/db", bearer(admin))), 200);

    res = c->Get("/v1/audit/verify", bearer(admin));
    ASSERT_EQ(status_of(res), 200) << res->body;
    EXPECT_EQ(body_json(res)["checked"], 3);

    res = c->Get("/v1/audit?limit=10", bearer(admin));
    ASSERT_EQ(status_of(res), 200) << res->body;
    const auto entries = body_json(res)["entries"];
    ASSERT_EQ(entries.size(), 3U) << res->body;
    EXPECT_EQ(entries[0]["op"], "secrets.get");
    EXPECT_EQ(entries[2]["op"], "keys.create");

    res = c->Post("/v1/audit/hash", bearer(admin), json{{"value", k_password}}.dump(),
                  "application/json");
    ASSERT_EQ(status_of(res), 200) << res->body;
    const auto hash = body_json(res)["hash"].get<std::string>();
    EXPECT_EQ(entries[1]["args"]["data"]["password"], hash);
    EXPECT_EQ(res->body.find(k_password), std::string::npos);

    // pbctl --server: the same answers, the same hash.
    const std::map<std::string, std::string> remote{{"PB_SERVER", pbd.url()},
                                                    {"PB_API_KEY", admin}};
    auto r = run({pbctl_path(), "audit", "hash", "-", "-q"}, remote, std::string(k_password));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, hash + "\n");
    r = run({pbctl_path(), "audit", "verify", "-q"}, remote);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "3\n");
    r = run({pbctl_path(), "audit", "tail", "--since", "1"}, remote);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
    // audit.file got the rows pbd wrote.
    const auto shipped = read_file(dir.file("audit.jsonl"));
    EXPECT_EQ(std::count(shipped.begin(), shipped.end(), '\n'), 3) << shipped;

    // Over a WebSocket: the same ops, the same answers.
    WsClient ws(pbd.port());
    ASSERT_EQ(ws.call("authenticate", {{"api_key", admin}})["ok"], true);
    const auto ws_verify = ws.call("audit.verify");
    ASSERT_EQ(ws_verify["ok"], true) << ws_verify.dump();
    EXPECT_EQ(ws_verify["result"]["checked"], 3);
    EXPECT_EQ(ws.call("audit.hash", {{"value", k_password}})["result"]["hash"], hash);

    // Someone with the database file changes a row: named over HTTP and by pbctl.
    tamper(pbd.db(), "UPDATE audit_log SET target = 'other' WHERE seq = 2");
    res = c->Get("/v1/audit/verify", bearer(admin));
    EXPECT_EQ(status_of(res), 409) << res->body;
    EXPECT_NE(res->body.find("(seq 2) changed"), std::string::npos) << res->body;
    r = run({pbctl_path(), "audit", "verify"}, remote);
    EXPECT_EQ(r.exit_code, 5) << r.err;
    EXPECT_NE(r.err.find("(seq 2) changed"), std::string::npos) << r.err;
    const auto ws_tampered = ws.call("audit.verify");
    EXPECT_EQ(ws_tampered["error"]["code"], "conflict") << ws_tampered.dump();
    // A non-admin is refused.
    const auto reader = created_key(pbd, admin, {{"owner", "r"}, {"permissions", {"keys:read"}}});
    EXPECT_EQ(status_of(c->Get("/v1/audit/verify", bearer(reader["key"].get<std::string>()))), 403);
}

// Two pbd on one PostgreSQL creating keys at once: one chain, whole; a row
// deleted there is named.
TEST(DaemonAudit, TwoDaemonsOnPostgresKeepOneChain) {
    TempDir dir;
    TestDb db{Backend::postgres};
    const DaemonOptions options{.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")},
                                        {"PB_LIMITS_IP_RATE", "off"},
                                        {"PB_LIMITS_USER_RATE", "off"},
                                        {"PB_LIMITS_KEY_RATE", "off"}},
                                .db = db.url()};
    RunningDaemon a(dir, options);
    RunningDaemon b(dir, options);
    const auto admin = a.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << a.err();
    constexpr int k_each = 25;
    std::atomic<int> created{0};
    auto writer = [&](const RunningDaemon& pbd, const std::string& owner) {
        auto c = pbd.client();
        for (int i = 0; i < k_each; ++i) {
            const auto res = c->Post("/v1/keys", bearer(admin), json{{"owner", owner}}.dump(),
                                     "application/json");
            if (status_of(res) == 201) {
                ++created;
            } else {
                ADD_FAILURE() << (res ? res->body : "no answer");
            }
        }
    };
    std::thread ta(writer, std::cref(a), "a");
    std::thread tb(writer, std::cref(b), "b");
    ta.join();
    tb.join();
    EXPECT_EQ(created.load(), 2 * k_each);
    auto res = b.client()->Get("/v1/audit/verify", bearer(admin));
    ASSERT_EQ(status_of(res), 200) << res->body;
    EXPECT_EQ(body_json(res)["checked"], 2 * k_each);
    EXPECT_EQ(body_json(res)["head"]["seq"], 2 * k_each);

    tamper(db.url(), "DELETE FROM audit_log WHERE seq = 7");
    res = a.client()->Get("/v1/audit/verify", bearer(admin));
    EXPECT_EQ(status_of(res), 409) << res->body;
    EXPECT_NE(res->body.find("removed: rows seq 7..7"), std::string::npos) << res->body;
}

}  // namespace
}  // namespace pb::test
