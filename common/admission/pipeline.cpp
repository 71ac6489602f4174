#include "common/admission/pipeline.hpp"

#include <algorithm>

#include "common/admission/outcomes.hpp"
#include "common/limits/policy.hpp"

namespace pb::admission {
namespace {

// The host's own probe (/health) passes a ban on its address (not a rate
// limit), even one of 0.0.0.0/0 made with --force: the operator keeps seeing
// pbd from the machine it runs on. (/ready and /metrics pass no ban at all:
// they never come here.)
bool is_operator_probe(const Facts& facts, const std::optional<limits::IpAddress>& client) {
    if (facts.door != Door::route || facts.op == nullptr || facts.op->route.path != "/health" ||
        !client) {
        return false;
    }
    if (client->family == limits::IpFamily::v4) {
        return (client->bits.lo >> 24) == 127;
    }
    return client->bits == limits::U128{0, 1};
}

// The counter and policy a caller's requests count against: its key's (its
// own rate limit, else its identity's override, else key overrides and
// limits.key.rate), or its user's (a token's subject).
struct CallerBucket {
    limits::Scope scope = limits::Scope::key;
    limits::CallerLimit limit;
};

std::optional<CallerBucket> bucket_of(const limits::LimitService& limits,
                                      const Credential& credential) {
    if (const auto& key = credential.key.key) {
        // The key's own limit was checked when it was stored; parsing is cheap.
        const auto own = key->rate_limit ? limits::parse_rate_limit(*key->rate_limit, "rate_limit")
                                         : std::nullopt;
        return CallerBucket{limits::Scope::key,
                            limits.caller_limit(limits::Scope::key, key->id, own,
                                                key->identity_id.value_or(std::string()))};
    }
    const auto& subject = credential.caller.subject;
    if (subject.empty()) {
        return std::nullopt;
    }
    const auto id = limits::canonical_id(limits::Scope::user, subject);
    return CallerBucket{limits::Scope::user,
                        limits.caller_limit(limits::Scope::user, id, std::nullopt)};
}

limits::CallerIdentity identity_of(const Verdict& v) {
    const auto& c = *v.credential;
    const bool is_key = c.key.key != nullptr;
    return {
        .address = v.client,
        .user = is_key ? std::string_view(c.key.key->owner) : std::string_view(c.caller.subject),
        .key_id = is_key ? std::string_view(c.key.key->id) : std::string_view()};
}

// A named limit's bucket: "k:<key id>:<name>" or "i:<identity id>:<name>".
std::string bucket_name(char owner, std::string_view id, std::string_view name) {
    std::string b(1, owner);
    b.append(":").append(id).append(":").append(name);
    return b;
}

[[noreturn]] void bad_limits(const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "limits: " + why, {{"param", "limits"}});
}

// The named limits a key's use spends: the auto ones of the key and of its
// identity (a key's limit hides its identity's of the same name) at cost 1,
// and those `costs` names at their cost. Each counts in its owner's bucket:
// the key's own, or the identity's, shared by all its keys. Error
// (invalid_argument) for a name neither carries, or a cost above the burst.
std::vector<limits::BucketCheck> named_checks(const keys::VerifyResult& key,
                                              const std::vector<keys::LimitCost>* costs,
                                              std::vector<std::string>& names) {
    std::vector<limits::BucketCheck> checks;
    const auto& record = *key.key;
    const auto* identity = key.identity.get();
    if (record.limits.empty() && (identity == nullptr || identity->limits.empty())) {
        if (costs != nullptr && !costs->empty()) {
            bad_limits("this key has no limit \"" + costs->front().name + "\"");
        }
        return checks;  // the fast path: no named limits
    }
    const auto find = [&](std::string_view name, std::string& bucket) -> const keys::NamedLimit* {
        for (const auto& l : record.limits) {
            if (l.name == name) {
                bucket = bucket_name('k', record.id, l.name);
                return &l;
            }
        }
        if (identity != nullptr) {
            for (const auto& l : identity->limits) {
                if (l.name == name) {
                    bucket = bucket_name('i', identity->id, l.name);
                    return &l;
                }
            }
        }
        return nullptr;
    };
    const auto add = [&](const keys::NamedLimit& l, std::string bucket, std::int64_t cost) {
        if (cost > l.policy.burst) {
            bad_limits("the cost of \"" + l.name + "\" must be from 1 to its burst (" +
                       std::to_string(l.policy.burst) + ")");
        }
        checks.push_back({std::move(bucket), l.policy, cost, l.shadow});
        names.push_back(l.name);
    };
    if (costs != nullptr) {
        for (const auto& c : *costs) {
            std::string bucket;
            const auto* l = find(c.name, bucket);
            if (l == nullptr) {
                bad_limits("neither this key nor its identity has a limit \"" + c.name + "\"");
            }
            add(*l, std::move(bucket), c.cost);
        }
    }
    const auto named = [&](std::string_view name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    for (const auto& l : record.limits) {
        if (l.auto_ && !named(l.name)) {
            add(l, bucket_name('k', record.id, l.name), 1);
        }
    }
    if (identity != nullptr) {
        for (const auto& l : identity->limits) {
            std::string bucket;
            if (l.auto_ && !named(l.name) && find(l.name, bucket) == &l) {
                add(l, std::move(bucket), 1);
            }
        }
    }
    return checks;
}

bool refuse(Verdict& v, Step step, std::string reason, Error error) {
    v.step = step;
    v.reason = std::move(reason);
    v.refusal.emplace(std::move(error));
    return false;
}

}  // namespace

struct Pipeline::Recipe {
    bool address = false;  // steps 1–3
    bool counted = false;  // the caller's limit and a use
    limits::LimitUse use = limits::LimitUse::api;
};

nlohmann::json Verdict::to_verify_json(UnixMillis now) const {
    if (!admitted()) {
        nlohmann::json j{{"valid", false}, {"reason", reason}};
        if (reason == "rate_limited") {
            j["retry_after_ms"] = caller_limit.retry_after_ms;
            if (!refused_limit.empty()) {
                j["limit"] = refused_limit;
                for (const auto& n : named) {
                    if (n.name == refused_limit) {
                        j["retry_after_ms"] = n.result.retry_after_ms;
                    }
                }
            }
        }
        return j;
    }
    if (!credential) {
        return keys::VerifyResult{}.to_json(now);
    }
    keys::VerifyResult v = credential->key;
    v.valid = true;
    v.remaining = remaining;
    auto j = v.to_json(now);
    if (v.identity) {
        j["identity"] = v.identity_json();
    }
    if (!named.empty()) {
        auto limits = nlohmann::json::array();
        auto over = nlohmann::json::array();
        for (const auto& n : named) {
            auto l = n.result.to_json();
            l["name"] = n.name;
            l["shadow"] = n.shadow;
            l.erase("degraded");
            limits.push_back(std::move(l));
            if (n.shadow && !n.result.allowed) {
                over.push_back(n.name);
            }
        }
        j["limits"] = std::move(limits);
        if (!over.empty()) {
            j["shadow_limited"] = std::move(over);
        }
    }
    return j;
}

Pipeline::Pipeline(Parts parts, std::string_view trusted_proxies)
    : m_parts(parts), m_proxies(TrustedProxies(trusted_proxies)) {}

Pipeline::Recipe Pipeline::recipe_of(const Facts& facts) {
    switch (facts.door) {
        case Door::route:
            return {.address = true, .counted = true};
        case Door::auth:
            return {.address = true, .counted = true, .use = limits::LimitUse::decision};
        case Door::ws_upgrade:
            return {.address = true};
        case Door::ws_check:
            return {};
        case Door::ws_op:
            return {.counted = true};
        case Door::verify:
            return {.counted = true, .use = limits::LimitUse::decision};
    }
    return {};
}

std::string_view Pipeline::credential_text(const Facts& facts, bool& needed) {
    switch (facts.door) {
        case Door::route: {
            needed = facts.op != nullptr && !facts.op->permission.empty();
            return needed ? presented(facts.authorization, facts.api_key) : std::string_view();
        }
        case Door::auth:
        case Door::ws_upgrade: {
            const auto text = presented(facts.authorization, facts.api_key);
            needed = !text.empty() ||
                     (facts.door == Door::auth && facts.anonymous == Anonymous::refused);
            return text;
        }
        case Door::ws_check:
        case Door::ws_op:
        case Door::verify:
            needed = true;
            return facts.credential;
    }
    needed = false;
    return {};
}

bool Pipeline::exempt(const Verdict& v) const {
    return v.client && m_parts.bans.allow_listed(*v.client);
}

bool Pipeline::address_steps(const Facts& facts, const Recipe& recipe, Verdict& v) const {
    v.client = m_proxies->client(facts.peer, facts.forwarded_for, facts.real_ip);
    if (!v.client) {
        return true;
    }
    if (auto ban = m_parts.bans.match_caller({.address = v.client});
        ban && !is_operator_probe(facts, v.client)) {
        auto details = ban->to_json(m_parts.clock.now());
        v.ban = std::move(ban);
        return refuse(v, Step::ban, "banned",
                      Error(ErrorCode::banned, "this address is banned", std::move(details)));
    }
    if (exempt(v)) {
        return true;  // the operator's own services and proxies
    }
    v.address_limit = m_parts.limits.check_address(*v.client, 1, recipe.use);
    if (!v.address_limit.allowed) {
        return refuse(v, Step::limit, "rate_limited",
                      Error(ErrorCode::rate_limited, "this address is over its rate limit",
                            v.address_limit.to_json()));
    }
    return true;
}

bool Pipeline::credential_step(const Facts& facts, std::string_view text, Verdict& v) const {
    if (facts.verified != nullptr) {
        // Verified by plan() for this request: counted once, here.
        v.credential = *facts.verified;
        credential_outcomes(credential_kind(text)).count(std::size_t{0});  // valid
        return true;
    }
    if (facts.door == Door::verify) {
        // keys.verify judges API keys only (a token has tokens.verify).
        auto checked = m_parts.keys.check(text);
        if (!checked.valid) {
            auto reason = checked.reason;
            return refuse(
                v, Step::credential, reason,
                Error(ErrorCode::unauthenticated, "API key is " + reason, {{"reason", reason}}));
        }
        // The key judged is no caller of anything: its record is all the
        // later steps read.
        v.credential = Credential{{}, std::move(checked)};
        return true;
    }
    auto& outcomes = credential_outcomes(credential_kind(text));
    try {
        v.credential = verify_credential(m_parts.keys, m_parts.tokens, text);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::unauthenticated) {
            throw;
        }
        refuse(v, Step::credential, e.details().value("reason", std::string("refused")), e);
        outcomes.count(v.reason);
        return false;
    }
    if (facts.held_permissions != nullptr &&
        v.credential->caller.permissions != *facts.held_permissions) {
        outcomes.count("permissions_changed");
        return refuse(v, Step::credential, "permissions_changed",
                      Error(ErrorCode::unauthenticated,
                            "the credential's permissions changed: authenticate again",
                            {{"reason", "permissions_changed"}}));
    }
    outcomes.count(std::size_t{0});  // valid
    return true;
}

bool Pipeline::named_step(const std::vector<limits::BucketCheck>& checks, const Recipe& recipe,
                          Verdict& v) const {
    const auto results = m_parts.limits.check_buckets(checks, recipe.use);
    for (std::size_t i = 0; i < checks.size(); ++i) {
        v.named[i].result = results[i];
        if (!checks[i].shadow && !results[i].allowed) {
            v.refused_limit = v.named[i].name;
        }
    }
    if (v.refused_limit.empty()) {
        return true;
    }
    auto details = v.named[0].result.to_json();
    for (const auto& n : v.named) {
        if (n.name == v.refused_limit) {
            details = n.result.to_json();
        }
    }
    details["limit"] = v.refused_limit;
    return refuse(
        v, Step::credential, "rate_limited",
        Error(ErrorCode::rate_limited, "this API key is over its limit \"" + v.refused_limit + "\"",
              std::move(details)));
}

bool Pipeline::caller_steps(const Facts& facts, const Recipe& recipe, Verdict& v) const {
    // A credential that does not verify was never probed for bans or limits.
    if (auto ban = m_parts.bans.match_caller(identity_of(v))) {
        auto details = ban->to_json(m_parts.clock.now());
        v.ban = std::move(ban);
        return refuse(v, Step::credential, "banned",
                      Error(ErrorCode::banned, "this caller is banned", std::move(details)));
    }
    if (!recipe.counted || exempt(v)) {
        return true;
    }
    // Named limits are checked (names and costs) before anything is spent.
    std::vector<limits::BucketCheck> checks;
    if (v.credential->key.key != nullptr) {
        std::vector<std::string> names;
        checks = named_checks(v.credential->key, facts.limit_costs, names);
        for (std::size_t i = 0; i < checks.size(); ++i) {
            v.named.push_back({std::move(names[i]), checks[i].shadow, {}});
        }
    }
    const auto bucket = bucket_of(m_parts.limits, *v.credential);
    if (!bucket) {
        return true;
    }
    v.caller_scope = bucket->scope;
    v.caller_limit = m_parts.limits.check_applied(bucket->scope, bucket->limit.id, 1,
                                                  bucket->limit.policy, recipe.use);
    if (!v.caller_limit.allowed) {
        return refuse(
            v, Step::credential, "rate_limited",
            Error(ErrorCode::rate_limited,
                  bucket->scope == limits::Scope::user ? "this user is over its rate limit"
                  : bucket->limit.id.starts_with("identity:")
                      ? "this API key's identity is over its rate limit"
                      : "this API key is over its rate limit",
                  v.caller_limit.to_json()));
    }
    return checks.empty() || named_step(checks, recipe, v);
}

bool Pipeline::permission_step(const Facts& facts, Verdict& v) const {
    const auto& granted = v.credential->caller.permissions;
    if (facts.door == Door::auth) {
        if (facts.permission.empty() || ops::has_permission(granted, facts.permission)) {
            return true;
        }
        const std::string needed(facts.permission);
        return refuse(
            v, Step::permission, "permission_denied",
            Error(ErrorCode::permission_denied,
                  "the caller lacks the permission \"" + needed + "\"", {{"permission", needed}}));
    }
    const auto* op = facts.op;
    if (op == nullptr || ops::has_permission(granted, op->permission)) {
        return true;
    }
    // The same refusal as runtime::dispatch()'s, which a transport may leave it to (its audit).
    return refuse(v, Step::permission, "permission_denied",
                  Error(ErrorCode::permission_denied,
                        op->name + " needs the permission \"" + op->permission + "\"",
                        {{"permission", op->permission}}));
}

bool Pipeline::use_step(const Recipe& recipe, Verdict& v) const {
    auto& key = v.credential->key;
    if (!recipe.counted || key.key == nullptr) {
        return true;
    }
    if (!m_parts.keys.spend(key)) {
        auto reason = key.reason;
        return refuse(
            v, Step::use, reason,
            Error(ErrorCode::unauthenticated, "API key is " + reason, {{"reason", reason}}));
    }
    v.remaining = key.remaining;
    return true;
}

Verdict Pipeline::admit(const Facts& facts) const {
    Verdict v;
    const auto recipe = recipe_of(facts);
    if (recipe.address) {
        if (!address_steps(facts, recipe, v)) {
            return v;
        }
    } else {
        v.client = facts.client;
    }
    bool needed = false;
    const auto text = credential_text(facts, needed);
    if (!needed) {
        return v;
    }
    // Each step answers false once it has refused; the verdict says where.
    if (credential_step(facts, text, v) && caller_steps(facts, recipe, v) &&
        permission_step(facts, v)) {
        use_step(recipe, v);
    }
    return v;
}

Plan Pipeline::plan(const Facts& facts) const {
    Plan p;
    const auto recipe = recipe_of(facts);
    if (!recipe.address) {
        return p;
    }
    const auto client = m_proxies->client(facts.peer, facts.forwarded_for, facts.real_ip);
    auto& bans = m_parts.bans;
    if (!client || bans.match_caller({.address = client}) || bans.allow_listed(*client)) {
        return p;
    }
    if (auto call = m_parts.limits.address_call(*client)) {
        p.calls.push_back(std::move(*call));
    }
    bool needed = false;
    const auto text = credential_text(facts, needed);
    if (!needed || !recipe.counted) {
        return p;
    }
    try {
        // As admit() will decide; a credential that does not verify, a ban
        // or an id no limit can count answers without a caller check.
        Verdict v;
        v.client = client;
        v.credential = verify_credential(m_parts.keys, m_parts.tokens, text);
        p.credential = v.credential;
        if (bans.match_caller(identity_of(v))) {
            return p;
        }
        if (const auto bucket = bucket_of(m_parts.limits, *v.credential)) {
            if (auto call = m_parts.limits.caller_call(bucket->scope, bucket->limit)) {
                p.calls.push_back(std::move(*call));
            }
        }
    } catch (const Error&) {
    }
    return p;
}

nlohmann::json Pipeline::verify(std::string_view key, const std::vector<keys::LimitCost>* costs) {
    const auto verdict =
        admit(Facts{.door = Door::verify, .credential = key, .limit_costs = costs});
    auto& outcomes = key_verify_outcomes();
    if (verdict.admitted()) {
        outcomes.count(std::size_t{0});  // valid
    } else {
        outcomes.count(verdict.reason);
    }
    return verdict.to_verify_json(m_parts.clock.now());
}

}  // namespace pb::admission
