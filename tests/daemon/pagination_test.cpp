#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "common/core/base64.hpp"
#include "common/core/config.hpp"
#include "common/keys/service.hpp"
#include "common/limits/ban_service.hpp"
#include "common/runtime/services.hpp"
#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

constexpr int k_seeded = 2'500;

// The lines of `text`.
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

// 2,500 keys of owner "seed" and 30 bans, written into a new database before
// pbd starts on it. Keys are made 7 at a time under one ManualClock reading,
// so most page boundaries fall between keys with the same created_at: the
// case where a cursor on the time alone would lose or repeat keys.
class Pagination : public ::testing::Test {
  protected:
    void SetUp() override {
        {
            std::ofstream(m_dir.file("seed.yaml")) << "";
            ConfigInputs in;
            in.file = m_dir.file("seed.yaml");
            in.flags["db.url"] = m_dir.file("pb.db");
            ManualClock clock(SystemClock::instance().now() - 3'600'000);
            auto services = Services::open(Config::load(in), clock, {.pool_size = 1});
            for (int i = 0; i < k_seeded; ++i) {
                if (i % 7 == 0) {
                    clock.advance(1);
                }
                const auto k = services->keys().create({.owner = "seed"}, "test:seed");
                m_ids.insert(k.record.id);
            }
            for (int i = 0; i < 30; ++i) {
                services->bans().add({.target = "user:u" + std::to_string(i)}, "test:seed");
            }
        }
        ASSERT_EQ(m_ids.size(), static_cast<std::size_t>(k_seeded));
        m_pbd = std::make_unique<RunningDaemon>(m_dir);
        m_admin = m_pbd->bootstrap_key();
        ASSERT_FALSE(m_admin.empty());
        m_client = m_pbd->client();
    }

    httplib::Result get(const std::string& path) { return m_client->Get(path, bearer(m_admin)); }

    RunResult pbctl_local(std::vector<std::string> args) {
        args.insert(args.begin(), {pbctl_path(), "--db", m_pbd->db()});
        return run(args, {{"PB_CONFIG", m_dir.file("seed.yaml")}, {"HOME", m_dir.path().string()}});
    }
    RunResult pbctl_remote(std::vector<std::string> args) {
        args.insert(args.begin(), {pbctl_path(), "--server", m_pbd->url()});
        return run(args, {{"PB_API_KEY", m_admin},
                          {"PB_CONFIG", m_dir.file("seed.yaml")},
                          {"HOME", m_dir.path().string()}});
    }

    // Every id of the seeded keys read over HTTP `limit` at a time, in order.
    std::vector<std::string> page_over_http(int limit, int* pages) {
        std::vector<std::string> ids;
        std::string cursor;
        *pages = 0;
        for (int guard = 0; guard < k_seeded + 2; ++guard) {
            std::string path = "/v1/keys?owner=seed&limit=" + std::to_string(limit);
            if (!cursor.empty()) {
                path += "&cursor=" + cursor;  // base64url: nothing to escape
            }
            const auto res = get(path);
            EXPECT_EQ(status_of(res), 200) << (res ? res->body : "");
            const auto page = body_json(res);
            ++*pages;
            for (const auto& k : page["keys"]) {
                ids.push_back(k["id"]);
            }
            if (!page["next_cursor"].is_string()) {
                EXPECT_TRUE(page["next_cursor"].is_null());
                break;
            }
            EXPECT_EQ(page["keys"].size(), static_cast<std::size_t>(limit));
            cursor = page["next_cursor"];
        }
        return ids;
    }

    TempDir m_dir;
    std::set<std::string> m_ids;
    std::unique_ptr<RunningDaemon> m_pbd;
    std::string m_admin;
    std::unique_ptr<httplib::Client> m_client;
};

// Pins: paging GET /v1/keys gives every key exactly once, in (created_at, id)
// order, whatever the page size, with boundaries inside equal timestamps; the
// last page says next_cursor null.
TEST_F(Pagination, HttpPagesGiveEveryKeyOnce) {
    for (const int limit : {7, 97, 1000}) {
        SCOPED_TRACE(limit);
        int pages = 0;
        const auto ids = page_over_http(limit, &pages);
        EXPECT_EQ(ids.size(), static_cast<std::size_t>(k_seeded));
        EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), m_ids);
        EXPECT_EQ(pages, (k_seeded + limit - 1) / limit);
    }
    // The default page is 100, and says more follow.
    const auto first = body_json(get("/v1/keys?owner=seed"));
    EXPECT_EQ(first["keys"].size(), 100U);
    EXPECT_TRUE(first["next_cursor"].is_string());
}

// Pins: pbctl keys list --all follows the cursors on the database and through
// --server alike: 2,500 ids, each once (-q prints one per line).
TEST_F(Pagination, PbctlAllListsEveryKeyOnceOnBothSurfaces) {
    for (const bool remote : {false, true}) {
        SCOPED_TRACE(remote ? "--server" : "database");
        const std::vector<std::string> args{"keys", "list", "--owner", "seed", "--all", "-q"};
        const auto r = remote ? pbctl_remote(args) : pbctl_local(args);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto ids = lines_of(r.out);
        EXPECT_EQ(ids.size(), static_cast<std::size_t>(k_seeded));
        EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), m_ids);
        EXPECT_EQ(r.err, "");

        // -o json --all: one list, next_cursor null.
        const auto j =
            remote ? pbctl_remote({"keys", "list", "--owner", "seed", "--all", "-o", "json"})
                   : pbctl_local({"keys", "list", "--owner", "seed", "--all", "-o", "json"});
        ASSERT_EQ(j.exit_code, 0) << j.err;
        const auto doc = json::parse(j.out);
        EXPECT_EQ(doc["keys"].size(), static_cast<std::size_t>(k_seeded));
        EXPECT_TRUE(doc["next_cursor"].is_null());

        // Without --all: one page, and stderr says how to get the rest.
        const auto page =
            remote ? pbctl_remote({"keys", "list", "--owner", "seed", "--limit", "1000", "-q"})
                   : pbctl_local({"keys", "list", "--owner", "seed", "--limit", "1000", "-q"});
        ASSERT_EQ(page.exit_code, 0) << page.err;
        EXPECT_EQ(lines_of(page.out).size(), 1000U);
        EXPECT_NE(page.err.find("pass --all, or --cursor "), std::string::npos) << page.err;

        // Bans page the same way (and -q prints their targets).
        const auto bans = remote ? pbctl_remote({"bans", "list", "--limit", "4", "--all", "-q"})
                                 : pbctl_local({"bans", "list", "--limit", "4", "--all", "-q"});
        ASSERT_EQ(bans.exit_code, 0) << bans.err;
        const auto targets = lines_of(bans.out);
        EXPECT_EQ(std::set<std::string>(targets.begin(), targets.end()).size(), 30U);
        EXPECT_EQ(targets.size(), 30U);
    }
}

// Pins: a cursor that is not one (garbage, another list's, too long, the
// right list with wrong values) and a limit out of range are 400 naming the
// param over HTTP and exit 2 from pbctl, never a crash or a wrong page.
TEST_F(Pagination, HostileCursorsAndLimitsAreRefused) {
    const std::string keys_cursor = body_json(get("/v1/keys?limit=1"))["next_cursor"];
    const std::string bans_cursor = body_json(get("/v1/bans?limit=1"))["next_cursor"];
    const auto forged = base64url_encode(R"(["keys","x",1])");
    const auto deep = base64url_encode(R"(["keys",[[[[[[1]]]]]],"a"])");
    struct Case {
        std::string path;
        std::string param;
    };
    const std::vector<Case> cases{
        {"/v1/keys?cursor=!!!not-base64", "cursor"},
        {"/v1/keys?cursor=" + base64url_encode("not json"), "cursor"},
        {"/v1/keys?cursor=" + bans_cursor, "cursor"},
        {"/v1/bans?cursor=" + keys_cursor, "cursor"},
        {"/v1/audit?cursor=" + keys_cursor, "cursor"},
        {"/v1/tokens/keys?cursor=" + keys_cursor, "cursor"},
        {"/v1/tokens/issuers?cursor=" + keys_cursor, "cursor"},
        {"/v1/secrets?cursor=" + keys_cursor, "cursor"},
        {"/v1/keys?cursor=" + forged, "cursor"},
        {"/v1/keys?cursor=" + deep, "cursor"},
        {"/v1/keys?cursor=" + std::string(3000, 'A'), "cursor"},
        {"/v1/keys?limit=0", "limit"},
        {"/v1/keys?limit=1001", "limit"},
        {"/v1/bans?limit=99999999999999999999", "limit"},
        {"/v1/audit?limit=1001", "limit"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.path.substr(0, 120));
        const auto res = get(c.path);
        EXPECT_EQ(status_of(res), 400) << (res ? res->body : "");
        const auto body = body_json(res);
        EXPECT_EQ(body["code"], "invalid_argument");
        EXPECT_EQ(body["param"], c.param) << body.dump();
    }
    for (const bool remote : {false, true}) {
        for (const auto& cursor : {std::string("garbage!"), bans_cursor}) {
            const std::vector<std::string> args{"keys", "list", "--cursor", cursor};
            const auto r = remote ? pbctl_remote(args) : pbctl_local(args);
            EXPECT_EQ(r.exit_code, 2) << r.err;
            EXPECT_NE(r.err.find("cursor: "), std::string::npos) << r.err;
            EXPECT_EQ(r.out, "");
        }
    }
    // pbd still answers.
    EXPECT_EQ(status_of(get("/v1/keys?limit=1&cursor=" + keys_cursor)), 200);
}

}  // namespace
}  // namespace pb::test
