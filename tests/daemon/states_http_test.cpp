#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "common/store/store.hpp"
#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

class DaemonStates : public ::testing::Test {
  protected:
    void SetUp() override {
        m_pbd = std::make_unique<RunningDaemon>(m_dir);
        m_admin = m_pbd->bootstrap_key();
        ASSERT_FALSE(m_admin.empty());
        m_client = m_pbd->client();
    }

    // A new API key holding `permissions`.
    std::string key_with(const std::vector<std::string>& permissions) {
        const auto res = m_client->Post("/v1/keys", bearer(m_admin),
                                        json{{"owner", "svc"}, {"permissions", permissions}}.dump(),
                                        "application/json");
        EXPECT_EQ(status_of(res), 201);
        return body_json(res).value("key", "");
    }

    httplib::Result post(const std::string& path, const std::string& key, const json& body) {
        return m_client->Post(path, bearer(key), body.dump(), "application/json");
    }

    TempDir m_dir;
    std::unique_ptr<RunningDaemon> m_pbd;
    std::string m_admin;
    std::unique_ptr<httplib::Client> m_client;
};

// Pins the routes: POST /v1/states 201, GET one, PATCH with If-version, POST
// …/transition, GET …/history, GET /v1/states with filters, DELETE, and the
// caller's key recorded as the actor.
TEST_F(DaemonStates, RoutesOverHttp) {
    const auto writer = key_with({"states:write", "states:read"});
    const auto created = post("/v1/states", writer,
                              {{"id", "user_123_session"},
                               {"type", "session"},
                               {"data", {{"user_id", "123"}}},
                               {"allowed_transitions", {"update", "delete", "suspend", "resume"}}});
    ASSERT_EQ(status_of(created), 201) << created->body;
    EXPECT_EQ(body_json(created)["version"], 1);
    EXPECT_EQ(body_json(created)["created_by"], "key:" + writer.substr(3, 12));

    const auto got = m_client->Get("/v1/states/user_123_session", bearer(writer));
    ASSERT_EQ(status_of(got), 200);
    EXPECT_EQ(body_json(got)["data"]["user_id"], "123");

    const auto patched =
        m_client->Patch("/v1/states/user_123_session", bearer(writer),
                        R"({"data":{"last_activity":"now"},"if_version":1})", "application/json");
    ASSERT_EQ(status_of(patched), 200) << patched->body;
    EXPECT_EQ(body_json(patched)["version"], 2);
    EXPECT_EQ(body_json(patched)["data"]["user_id"], "123");

    const auto stale = m_client->Patch("/v1/states/user_123_session", bearer(writer),
                                       R"({"data":{"x":1},"if_version":1})", "application/json");
    EXPECT_EQ(status_of(stale), 409);
    EXPECT_EQ(body_json(stale)["reason"], "version_mismatch");

    const auto suspended =
        post("/v1/states/user_123_session/transition", writer, {{"transition", "suspend"}});
    ASSERT_EQ(status_of(suspended), 200) << suspended->body;
    EXPECT_EQ(body_json(suspended)["status"], "suspended");
    const auto illegal =
        post("/v1/states/user_123_session/transition", writer, {{"transition", "suspend"}});
    EXPECT_EQ(status_of(illegal), 409);
    EXPECT_EQ(body_json(illegal)["reason"], "illegal_transition");

    const auto hist = m_client->Get("/v1/states/user_123_session/history?limit=2", bearer(writer));
    ASSERT_EQ(status_of(hist), 200);
    ASSERT_EQ(body_json(hist)["history"].size(), 2U);
    EXPECT_EQ(body_json(hist)["history"][0]["transition"], "suspend");

    post("/v1/states", writer, {{"id", "flag_a"}, {"type", "feature"}});
    const auto list = m_client->Get("/v1/states?type=session&status=suspended", bearer(writer));
    ASSERT_EQ(status_of(list), 200);
    ASSERT_EQ(body_json(list)["states"].size(), 1U);
    EXPECT_EQ(body_json(list)["states"][0]["id"], "user_123_session");
    const auto page = m_client->Get("/v1/states?limit=1", bearer(writer));
    ASSERT_EQ(status_of(page), 200);
    const std::string cursor = body_json(page)["next_cursor"];
    const auto next = m_client->Get("/v1/states?limit=1&cursor=" + cursor, bearer(writer));
    EXPECT_EQ(body_json(next)["states"][0]["id"], "user_123_session");

    EXPECT_EQ(status_of(m_client->Get("/v1/states/nope", bearer(writer))), 404);
    EXPECT_EQ(status_of(post("/v1/states", writer, {{"id", "flag_a"}, {"type", "feature"}})), 409);
    EXPECT_EQ(status_of(post("/v1/states", writer, {{"id", "x"}, {"type", "planet"}})), 400);
    EXPECT_EQ(status_of(post("/v1/states", writer, {{"id", "x"}, {"type", "user"}, {"data", 5}})),
              400);

    const auto deleted = m_client->Delete("/v1/states/user_123_session", bearer(writer));
    ASSERT_EQ(status_of(deleted), 200);
    EXPECT_EQ(body_json(deleted)["deleted"], true);
    EXPECT_EQ(status_of(m_client->Get("/v1/states/user_123_session", bearer(writer))), 404);
}

// Pins permissions: states:read may read but not write, no credential is 401,
// and a refused write changes nothing.
TEST_F(DaemonStates, ReadAndWritePermissions) {
    const auto writer = key_with({"states:write"});
    const auto reader = key_with({"states:read"});
    const auto other = key_with({"keys:read"});
    ASSERT_EQ(status_of(post("/v1/states", writer, {{"id", "s"}, {"type", "user"}})), 201);
    EXPECT_EQ(status_of(m_client->Get("/v1/states/s", bearer(writer))), 403);
    EXPECT_EQ(status_of(m_client->Get("/v1/states/s", bearer(reader))), 200);
    EXPECT_EQ(status_of(m_client->Get("/v1/states", bearer(reader))), 200);
    EXPECT_EQ(status_of(m_client->Get("/v1/states/s", bearer(other))), 403);
    EXPECT_EQ(status_of(m_client->Get("/v1/states/s")), 401);
    const auto denied =
        m_client->Patch("/v1/states/s", bearer(reader), R"({"data":{"x":1}})", "application/json");
    EXPECT_EQ(status_of(denied), 403);
    EXPECT_EQ(body_json(denied)["code"], "permission_denied");
    EXPECT_EQ(status_of(post("/v1/states/s/transition", reader, {{"transition", "suspend"}})), 403);
    EXPECT_EQ(status_of(m_client->Delete("/v1/states/s", bearer(reader))), 403);
    EXPECT_EQ(body_json(m_client->Get("/v1/states/s", bearer(reader)))["version"], 1);
}

// Pins pbd's sweeper: a state with a TTL becomes expired in the database by
// itself (no read in between), with its history row and state.expired event.
TEST_F(DaemonStates, SweeperExpiresByItself) {
    ASSERT_EQ(
        status_of(post("/v1/states", m_admin, {{"id", "tmp"}, {"type", "session"}, {"ttl", "1s"}})),
        201);
    auto st = store::open_store(m_pbd->db(), store::StoreOptions{.pool_size = 1});
    const auto read = [&](const std::string& sql) {
        return st->transaction(
            [&](store::Connection& c) {
                const auto rows = c.query(sql);
                return rows.empty() ? std::string() : rows.front().get_text(0);
            },
            store::TxMode::read);
    };
    std::string status;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (status != "expired" && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        status = read("SELECT status FROM states WHERE id = 'tmp'");
    }
    EXPECT_EQ(status, "expired");
    EXPECT_EQ(read("SELECT actor FROM state_history WHERE state_id = 'tmp' AND transition = "
                   "'expire'"),
              "system:expiry");
    EXPECT_EQ(read("SELECT type FROM events WHERE topic = 'states/tmp' ORDER BY seq DESC"),
              "state.expired");
}

}  // namespace
}  // namespace pb::test
