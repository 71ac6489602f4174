#include <fstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::runtime {
namespace {

using nlohmann::json;

// Services on a temp database, with a ManualClock and no config file but an empty one.
class DispatchTest : public ::testing::Test {
  protected:
    DispatchTest() {
        std::ofstream(dir.file("pb.yaml")) << "";
        ConfigInputs in;
        in.file = dir.file("pb.yaml");
        in.flags["db.url"] = dir.file("pb.db");
        services = Services::open(Config::load(in), clock, {.pool_size = 1});
    }

    // A mutating op with a secret param whose handler does what `body` says.
    static ops::Op secret_op(std::function<json(const json&)> body) {
        return ops::Op{
            .name = "test.store",
            .summary = "Stores a secret",
            .params = {ops::Param{.name = "name", .help = "h", .required = ops::Required::yes},
                       ops::Param{.name = "value", .help = "h", .secret = ops::Secret::yes}},
            .permission = "test:write",
            .mutates = ops::Mutates::yes,
            .route = {"POST", "/v1/test"},
            .handler = [body](ops::Context&, const json& a) { return body(a); },
            .audit_target = "name",
        };
    }

    // Every audit row as {"op","actor","target","outcome","args"}.
    json audit_rows() {
        json out = json::array();
        services->store().transaction(
            [&](store::Connection& c) {
                for (const auto& r : c.query(
                         "SELECT op, actor, target, outcome, args FROM audit_log ORDER BY id")) {
                    out.push_back({{"op", r.get_text(0)},
                                   {"actor", r.get_text(1)},
                                   {"target", r.get_text(2)},
                                   {"outcome", r.get_text(3)},
                                   {"args", json::parse(r.get_text(4))}});
                }
            },
            store::TxMode::read);
        return out;
    }

    test::TempDir dir;
    ManualClock clock;
    std::unique_ptr<Services> services;
    const ops::Caller admin{"local:test", {"admin"}};
};

// A mutating op is audited with its target and its secret args as their HMAC
// (the value hash `audit hash` prints), never in clear.
TEST_F(DispatchTest, AuditsMutatingOpsWithSecretsRedacted) {
    const auto op = secret_op([](const json&) { return json{{"ok", true}}; });
    dispatch(*services, op, {{"name", "db-password"}, {"value", "hunter2-secret"}}, admin);
    const auto rows = audit_rows();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].at("op"), "test.store");
    EXPECT_EQ(rows[0].at("actor"), "local:test");
    EXPECT_EQ(rows[0].at("target"), "db-password");
    EXPECT_EQ(rows[0].at("outcome"), "ok");
    EXPECT_EQ(rows[0].at("args").at("value"), services->audit().value_hash("hunter2-secret"));
    EXPECT_TRUE(rows[0].at("args").at("value").get<std::string>().starts_with("hmac-sha256:"));
    EXPECT_EQ(rows.dump().find("hunter2-secret"), std::string::npos);
}

// A failing mutating op is audited with its error code, secrets still redacted.
TEST_F(DispatchTest, AuditsFailuresWithTheirCode) {
    const auto op =
        secret_op([](const json&) -> json { throw Error(ErrorCode::conflict, "already there"); });
    EXPECT_THROW(dispatch(*services, op, {{"name", "n"}, {"value", "hunter2-secret"}}, admin),
                 Error);
    // Invalid arguments are audited too, before validation could canonicalise them.
    EXPECT_THROW(dispatch(*services, op, {{"value", "hunter2-secret"}}, admin), Error);
    const auto rows = audit_rows();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0].at("outcome"), "conflict");
    EXPECT_EQ(rows[1].at("outcome"), "invalid_argument");
    EXPECT_EQ(rows.dump().find("hunter2-secret"), std::string::npos);
}

// A handler failing with something other than pb::Error is still audited (as internal).
TEST_F(DispatchTest, AuditsUnexpectedExceptions) {
    const auto op = secret_op([](const json&) -> json { throw std::runtime_error("bug"); });
    EXPECT_ANY_THROW(dispatch(*services, op, {{"name", "n"}}, admin));
    const auto rows = audit_rows();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].at("outcome"), "internal");
}

// A caller without the op's permission is refused before the handler runs.
TEST_F(DispatchTest, PermissionDeniedBeforeTheHandler) {
    bool ran = false;
    const auto op = secret_op([&](const json&) {
        ran = true;
        return json::object();
    });
    const ops::Caller reader{"key:abc", {"test:read"}};
    try {
        dispatch(*services, op, {{"name", "n"}}, reader);
        FAIL() << "dispatched without permission";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::permission_denied);
    }
    EXPECT_FALSE(ran);
    const ops::Caller writer{"key:def", {"test:*"}};
    dispatch(*services, op, {{"name", "n"}}, writer);
    EXPECT_TRUE(ran);
}

// The handler gets canonical arguments, defaults included.
TEST_F(DispatchTest, HandlerGetsCanonicalArgs) {
    const auto& create = *op_table().find("keys.create");
    const auto out = dispatch(*services, create, {{"owner", "ci"}, {"expires", "1d"}}, admin);
    EXPECT_EQ(out.at("owner"), "ci");
    EXPECT_EQ(out.at("expires_at"), format_rfc3339(clock.now() + 86'400'000));
    EXPECT_EQ(out.at("permissions"), json::array());
}

// Reading ops are not audited; key ops never put the key itself in the audit log.
TEST_F(DispatchTest, KeyOpsAuditWithoutSecrets) {
    const auto& t = op_table();
    const auto created = dispatch(*services, *t.find("keys.create"), {{"owner", "ci"}}, admin);
    const std::string key = created.at("key");
    dispatch(*services, *t.find("keys.verify"), {{"key", key}}, admin);
    dispatch(*services, *t.find("keys.list"), json::object(), admin);
    const auto rotated =
        dispatch(*services, *t.find("keys.rotate"), {{"id", created.at("id")}}, admin);
    const auto rows = audit_rows();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0].at("op"), "keys.create");
    EXPECT_EQ(rows[0].at("target"), "ci");
    EXPECT_EQ(rows[1].at("op"), "keys.rotate");
    EXPECT_EQ(rows.dump().find(key.substr(16)), std::string::npos);
    EXPECT_EQ(rows.dump().find(rotated.at("key").get<std::string>().substr(16)), std::string::npos);
}

}  // namespace
}  // namespace pb::runtime
