// admission::Pipeline, the one admission of every request: its steps in
// order (address, bans, limits, credential, permission, then one use), what
// each door asks, and that a refusal spends nothing.
#include "tests/unit/admission/pipeline_fixture.hpp"

namespace pb::admission::test {
namespace {

// An op of pbd's table as the route door sees it: a path and a permission.
ops::Op op(std::string name, std::string path, std::string permission) {
    ops::Op o;
    o.name = std::move(name);
    o.route = {"GET", std::move(path)};
    o.permission = std::move(permission);
    return o;
}

class PipelineTest : public ::testing::Test {
  protected:
    explicit PipelineTest(const PipelineSettings& settings = {})
        : parts(Backend::sqlite, settings) {}

    // One request to `op_` from `peer` presenting `credential` (Bearer).
    Verdict route(const ops::Op& op_, std::string_view peer, const std::string& credential) {
        bearer = "Bearer " + credential;
        return parts.pipeline->admit(
            {.door = Door::route, .peer = peer, .authorization = bearer, .op = &op_});
    }

    PipelineParts parts;
    std::string bearer;
    const ops::Op list = op("keys.list", "/v1/keys", "keys:read");
    const ops::Op create = op("keys.create", "/v1/keys", "keys:write");
    const ops::Op health = op("health", "/health", "");
};

// A banned address is refused at step 2, before its limit is counted and before
// the credential is looked at: a garbage credential is not even reported, and a
// good one keeps its uses.
TEST_F(PipelineTest, BannedAddressIsRefusedBeforeTheCredentialIsLookedAt) {
    const auto k = parts.key({"keys:read"}, 3);
    parts.ban("203.0.113.0/24");
    for (const std::string& credential : {std::string("garbage"), k.key}) {
        const auto v = route(list, "203.0.113.7:5000", credential);
        EXPECT_EQ(v.step, Step::ban);
        EXPECT_EQ(v.reason, "banned");
        ASSERT_TRUE(v.refusal);
        EXPECT_EQ(v.refusal->code(), ErrorCode::banned);
        EXPECT_STREQ(v.refusal->what(), "this address is banned");
        EXPECT_FALSE(v.credential) << "the credential was looked at";
        EXPECT_EQ(v.address_limit.limit, 0);
    }
    EXPECT_EQ(parts.remaining(k.record.id), 3);
    // Another address gets as far as the credential.
    EXPECT_EQ(route(list, "198.51.100.1:5000", "garbage").step, Step::credential);
}

// An address over its limit is refused at step 3 (429) before the credential.
TEST_F(PipelineTest, AddressLimitComesBeforeTheCredential) {
    PipelineParts tight(Backend::sqlite, {.ip_rate = "1/min"});
    const auto k = tight.key({"keys:read"}, 3);
    bearer = "Bearer " + k.key;
    const Facts facts{
        .door = Door::route, .peer = "198.51.100.1:5000", .authorization = bearer, .op = &list};
    EXPECT_TRUE(tight.pipeline->admit(facts).admitted());
    const auto refused = tight.pipeline->admit(facts);
    EXPECT_EQ(refused.step, Step::limit);
    EXPECT_EQ(refused.refusal->code(), ErrorCode::rate_limited);
    EXPECT_FALSE(refused.address_limit.allowed);
    EXPECT_FALSE(refused.credential);
    EXPECT_EQ(tight.remaining(k.record.id), 2);  // the one admitted request only
}

// Permission is the last step: a caller refused for a ban, its limit or its
// credential is told that, not that it lacks the permission; and a caller
// that lacks it spends no use.
TEST_F(PipelineTest, PermissionIsLastAndSpendsNothing) {
    const auto reader = parts.key({"keys:read"}, 5);
    auto refused = route(create, "198.51.100.1:5000", reader.key);
    EXPECT_EQ(refused.step, Step::permission);
    EXPECT_EQ(refused.reason, "permission_denied");
    EXPECT_EQ(refused.refusal->code(), ErrorCode::permission_denied);
    ASSERT_TRUE(refused.credential);  // who was refused, for dispatch() to audit
    EXPECT_EQ(parts.remaining(reader.record.id), 5);

    EXPECT_EQ(route(create, "198.51.100.1:5000", "pb_nope").step, Step::credential);

    const auto limited = parts.key({"keys:read"}, 5, "1/min");
    EXPECT_EQ(route(create, "198.51.100.1:5000", limited.key).step, Step::permission);
    refused = route(create, "198.51.100.1:5000", limited.key);
    EXPECT_EQ(refused.reason, "rate_limited");
    EXPECT_EQ(refused.step, Step::credential);

    parts.ban("key:" + reader.record.id);
    refused = route(create, "198.51.100.1:5000", reader.key);
    EXPECT_EQ(refused.reason, "banned");
    EXPECT_EQ(refused.refusal->code(), ErrorCode::banned);
    EXPECT_EQ(parts.remaining(reader.record.id), 5);
    EXPECT_EQ(parts.remaining(limited.record.id), 5);

    // Admitted: the use is spent last.
    const auto writer = parts.key({"keys:write"}, 5);
    const auto admitted = route(create, "198.51.100.1:5000", writer.key);
    EXPECT_TRUE(admitted.admitted());
    EXPECT_EQ(admitted.remaining, 4);
    EXPECT_EQ(admitted.credential->caller.actor, "key:" + writer.record.id);
}

// Each door asks what it says: an op without a permission needs no
// credential; /v1/auth needs one unless anonymous; a WebSocket re-check
// counts nothing, an op on a socket spends a use, and a credential whose
// permissions changed since the session began is refused.
TEST_F(PipelineTest, DoorsDecideWhichStepsApply) {
    const auto k = parts.key({"keys:read"}, 5);
    EXPECT_TRUE(route(health, "198.51.100.1:5000", "garbage").admitted());

    Facts auth{.door = Door::auth, .peer = "198.51.100.1:5000"};
    EXPECT_EQ(parts.pipeline->admit(auth).reason, "missing");
    auth.anonymous = Anonymous::allowed;
    const auto anonymous = parts.pipeline->admit(auth);
    EXPECT_TRUE(anonymous.admitted());
    EXPECT_FALSE(anonymous.credential);
    bearer = "Bearer " + k.key;
    auth.authorization = bearer;
    auth.permission = "keys:write";
    EXPECT_EQ(parts.pipeline->admit(auth).refusal->code(), ErrorCode::permission_denied);
    EXPECT_EQ(parts.remaining(k.record.id), 5);

    const std::vector<std::string> held{"keys:read"};
    const Facts check{.door = Door::ws_check, .credential = k.key, .held_permissions = &held};
    EXPECT_TRUE(parts.pipeline->admit(check).admitted());
    EXPECT_EQ(parts.remaining(k.record.id), 5);
    Facts on_socket = check;
    on_socket.door = Door::ws_op;
    EXPECT_EQ(parts.pipeline->admit(on_socket).remaining, 4);
    const std::vector<std::string> admin{"admin"};
    on_socket.held_permissions = &admin;
    const auto changed = parts.pipeline->admit(on_socket);
    EXPECT_EQ(changed.reason, "permissions_changed");
    EXPECT_EQ(changed.refusal->code(), ErrorCode::unauthenticated);
    EXPECT_EQ(parts.remaining(k.record.id), 4);
}

// The client is the peer, or what a trusted proxy says it is; X-Forwarded-For
// from anyone else is ignored, so a ban cannot be dodged by sending it.
TEST_F(PipelineTest, TrustedProxiesNameTheClient) {
    parts.ban("203.0.113.7");
    Facts facts{.door = Door::route,
                .peer = "127.0.0.1:4000",
                .forwarded_for = "203.0.113.7, 127.0.0.2",
                .op = &health};
    EXPECT_EQ(parts.pipeline->admit(facts).reason, "banned");
    facts.peer = "198.51.100.1:4000";
    const auto direct = parts.pipeline->admit(facts);
    EXPECT_TRUE(direct.admitted());
    EXPECT_EQ(limits::to_string(*direct.client), "198.51.100.1");
    facts.peer = "127.0.0.1:4000";
    facts.forwarded_for = {};
    facts.real_ip = "198.51.100.9";
    EXPECT_EQ(limits::to_string(*parts.pipeline->admit(facts).client), "198.51.100.9");
}

// Loopback keeps the health probe through a ban of everything; nothing else.
TEST_F(PipelineTest, LoopbackKeepsTheHealthProbeThroughAnyBan) {
    parts.ban("0.0.0.0/0");
    EXPECT_TRUE(route(health, "127.0.0.1:4000", "").admitted());
    EXPECT_EQ(route(health, "198.51.100.1:4000", "").reason, "banned");
    EXPECT_EQ(route(list, "127.0.0.1:4000", "").reason, "banned");
}

// plan() decides and spends nothing: without Redis it lists no check, but
// verifies the credential once; admit() then takes it as verified.
TEST_F(PipelineTest, PlanSpendsNothingAndHandsOverTheCredential) {
    const auto k = parts.key({"keys:read"}, 2);
    bearer = "Bearer " + k.key;
    Facts facts{
        .door = Door::route, .peer = "198.51.100.1:5000", .authorization = bearer, .op = &list};
    const auto plan = parts.pipeline->plan(facts);
    EXPECT_TRUE(plan.calls.empty());
    ASSERT_TRUE(plan.credential);
    EXPECT_EQ(plan.credential->caller.key_id, k.record.id);
    EXPECT_EQ(parts.remaining(k.record.id), 2);
    facts.authorization = "Bearer garbage";  // not read again
    facts.verified = &*plan.credential;
    const auto v = parts.pipeline->admit(facts);
    EXPECT_TRUE(v.admitted());
    EXPECT_EQ(v.remaining, 1);
}

// keys.verify's answers come from the same verdicts.
TEST_F(PipelineTest, VerifyAnswersVerdicts) {
    const auto k = parts.key({"keys:read"}, 2);
    const auto valid = parts.pipeline->verify(k.key);
    EXPECT_EQ(valid["valid"], true);
    EXPECT_EQ(valid["remaining"], 1);
    EXPECT_EQ(parts.pipeline->verify("pb_nope")["valid"], false);
    parts.ban("user:svc");
    EXPECT_EQ(parts.pipeline->verify(k.key),
              (nlohmann::json{{"valid", false}, {"reason", "banned"}}));
    EXPECT_EQ(parts.remaining(k.record.id), 1);
}

}  // namespace
}  // namespace pb::admission::test
