#include "common/tokens/ops.hpp"

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"
#include "common/tokens/grants.hpp"
#include "common/tokens/issuer_ops.hpp"
#include "common/tokens/outcomes.hpp"
#include "common/tokens/service.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using namespace pb::ops;

Param token_param(std::string help) {
    return Param{.name = "token",
                 .help = std::move(help),
                 .required = Required::yes,
                 .positional = Positional::yes,
                 .secret = Secret::yes,
                 .bound = TextBound::token};
}

std::optional<Alg> opt_alg(const json& a) {
    if (!a.contains("alg")) {
        return std::nullopt;
    }
    return alg_from_string(a["alg"].get<std::string>());
}

// pbctl's `--claim role=admin` words merged into the `claims` object, which
// is all pbd takes: each VALUE is JSON when it parses as JSON, text otherwise;
// a word names a claim over the same claim of --claims.
json claims_from_cli(const json& a) {
    json out = a;
    const auto words = a.find("claim");
    if (words == a.end()) {
        return out;
    }
    json claims = a.value("claims", json::object());
    for (const auto& kv : words->get<std::vector<std::string>>()) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw Error(ErrorCode::invalid_argument,
                        "--claim: expected NAME=VALUE, got \"" + kv + "\"", {{"param", "claim"}});
        }
        auto value = parse_json_or_discarded(kv.substr(eq + 1));
        claims[kv.substr(0, eq)] = value.is_discarded() ? json(kv.substr(eq + 1)) : value;
    }
    out.erase("claim");
    out["claims"] = std::move(claims);
    return out;
}

// Illustrative tokens for examples (not valid signatures).
const char* const k_example_jwt =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6Ims3IiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c2VyLTEifQ.c2ln";
const char* const k_example_refresh =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6Ims3IiwidHlwIjoiSldUIn0.eyJ0b2tlbl91c2UiOiJyZWZyZXNoIn0.c2ln";

json example_claims() {
    return {{"iss", "pb"},       {"sub", "user-1"},   {"aud", "pbd"},
            {"iat", 1767323045}, {"exp", 1767323945}, {"jti", "Xk2pQ9rT4vW8yZ1bC3dE5f"},
            {"role", "reader"}};
}

json example_ring_key(json changes = json::object()) {
    json row{{"kid", "k7"},          {"alg", "ES256"},
             {"status", "active"},   {"origin", "generated"},
             {"can_sign", true},     {"created_at", "2026-01-02T03:04:05.678Z"},
             {"retired_at", nullptr}};
    row.update(changes);
    return row;
}

json key_rows(const std::vector<std::shared_ptr<const RingKey>>& keys) {
    json rows = json::array();
    for (const auto& k : keys) {
        rows.push_back(k->to_json());
    }
    return {{"keys", rows}};
}

}  // namespace

void register_tokens_ops(OpTable& t) {
    t.add(Op{
        .name = "tokens.issue",
        .summary = "Issue a signed access token, and a refresh token on request; its "
                   "permissions or scope claims must be within the caller's own",
        .params =
            {
                Param{.name = "sub",
                      .help = "The subject (a user or service id)",
                      .required = Required::yes},
                Param{.name = "claims",
                      .type = ParamType::json_object,
                      .help = "Extra claims, a JSON object ({\"role\":\"reader\"}); pbctl "
                              "also reads it from a file, @path or -"},
                Param{.name = "claim",
                      .type = ParamType::string_list,
                      .help = "An extra claim NAME=VALUE, merged into --claims; VALUE is JSON if "
                              "it parses (repeatable)",
                      .cli_only = CliOnly::yes},
                Param{
                    .name = "aud", .type = ParamType::string_list, .help = "Audience (repeatable)"},
                Param{.name = "ttl",
                      .type = ParamType::duration,
                      .help = "Lifetime of the access token [default: tokens.access_ttl]"},
                Param{.name = "refresh",
                      .type = ParamType::boolean,
                      .help = "Also issue a refresh token",
                      .fallback = false},
                Param{.name = "alg",
                      .help = "Signing algorithm [default: tokens.default_alg]",
                      .choices = alg_names()},
                Param{.name = "kid", .help = "Sign with this key"},
            },
        .permission = "tokens:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/tokens", 201},
        .handler =
            [](Context& ctx, const json& a) {
                IssueRequest r;
                r.sub = a["sub"].get<std::string>();
                r.claims = a.value("claims", json::object());
                // A token carries no more than the caller that asks for it.
                require_within(r.claims, ctx.caller.permissions);
                r.audience = a.value("aud", std::vector<std::string>());
                if (a.contains("ttl"))
                    r.ttl_ms = a["ttl"].get<std::int64_t>();
                r.refresh = a["refresh"].get<bool>();
                r.alg = opt_alg(a);
                if (a.contains("kid"))
                    r.kid = a["kid"].get<std::string>();
                return ctx.service<TokenService>().issue(r, ctx.caller.actor);
            },
        .quiet_field = "access_token",
        .audit_target = "sub",
        .from_cli = claims_from_cli,
        .response = TokenService::issued_schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"A 15-minute token with a refresh token",
                      {{"sub", "user-1"},
                       {"claims", {{"role", "reader"}}},
                       {"ttl", "15m"},
                       {"refresh", true}},
                      {{"access_token", k_example_jwt},
                       {"token_type", "bearer"},
                       {"expires_in", 900},
                       {"refresh_token", k_example_refresh},
                       {"refresh_expires_in", 2592000}}}},
    });
    t.add(Op{
        .name = "tokens.verify",
        .summary = "Verify a token's signature and claims",
        .params =
            {
                token_param("The token"),
                Param{.name = "aud", .help = "Require this audience"},
                Param{.name = "iss", .help = "Require this issuer"},
                Param{.name = "at",
                      .type = ParamType::time,
                      .help = "Check as of this instant (RFC 3339) instead of now"},
            },
        .route = {"POST", "/v1/tokens/verify"},
        .handler =
            [](Context& ctx, const json& a) {
                VerifyOptions o;
                if (a.contains("aud"))
                    o.audience = a["aud"].get<std::string>();
                if (a.contains("iss"))
                    o.issuer = a["iss"].get<std::string>();
                o.at = optional_int(a, "at");
                const auto check =
                    ctx.service<TokenService>().verify(a["token"].get<std::string>(), o);
                token_verify_outcomes().count(check.valid ? std::string_view("valid")
                                                          : to_string(check.reason));
                return check.to_json();
            },
        .quiet_field = "valid",
        .verdict_field = "valid",
        .verdict_reason_field = "reason",
        .response = TokenCheck::schema(),
        .examples =
            {{"A valid token",
              {{"token", k_example_jwt}},
              {{"valid", true},
               {"header", {{"alg", "ES256"}, {"kid", "k7"}, {"typ", "JWT"}}},
               {"claims", example_claims()}}},
             {"An expired token",
              {{"token", k_example_jwt}},
              {{"valid", false}, {"reason", "expired"}, {"message", "the token has expired"}}}},
    });
    t.add(Op{
        .name = "tokens.refresh",
        .summary = "Trade a refresh token for a new access and refresh pair (the old one is spent)",
        .params = {Param{.name = "refresh_token",
                         .help = "The refresh token",
                         .required = Required::yes,
                         .positional = Positional::yes,
                         .secret = Secret::yes,
                         .bound = TextBound::token}},
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/tokens/refresh"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<TokenService>().refresh(a["refresh_token"].get<std::string>());
            },
        .quiet_field = "access_token",
        .response = TokenService::issued_schema(),
        .errors = {ErrorCode::unauthenticated},
        .examples = {{"A new pair for a refresh token",
                      {{"refresh_token", k_example_refresh}},
                      {{"access_token", k_example_jwt},
                       {"token_type", "bearer"},
                       {"expires_in", 900},
                       {"refresh_token", k_example_refresh},
                       {"refresh_expires_in", 2592000}}}},
    });
    t.add(Op{
        .name = "tokens.revoke",
        .summary = "Revoke a token (or a token id, jti) until it would have expired",
        .params =
            {
                Param{.name = "token",
                      .help = "The token",
                      .positional = Positional::yes,
                      .secret = Secret::yes,
                      .bound = TextBound::token},
                Param{.name = "jti", .help = "Revoke this token id instead of a token"},
                Param{.name = "until",
                      .type = ParamType::time,
                      .help = "With jti: keep it revoked until then [default: tokens.refresh_ttl]"},
            },
        .permission = "tokens:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/tokens/revoke"},
        .handler =
            [](Context& ctx, const json& a) {
                std::optional<std::string> token, jti;
                std::optional<UnixMillis> until;
                if (a.contains("token"))
                    token = a["token"].get<std::string>();
                if (a.contains("jti"))
                    jti = a["jti"].get<std::string>();
                until = optional_int(a, "until");
                return ctx.service<TokenService>().revoke(
                    token ? std::optional<std::string_view>(*token) : std::nullopt, jti, until,
                    ctx.caller.actor);
            },
        .quiet_field = "jti",
        .audit_target = "jti",
        .response = ops::schema::object({{"jti", ops::schema::string()},
                                         {"revoked", ops::schema::boolean()},
                                         {"until", ops::schema::time("When the revocation ends")}}),
        .examples = {{"Revoke a token id for a day",
                      {{"jti", "Xk2pQ9rT4vW8yZ1bC3dE5f"}, {"until", "1d"}},
                      {{"jti", "Xk2pQ9rT4vW8yZ1bC3dE5f"},
                       {"revoked", true},
                       {"until", "2026-01-03T03:04:05.000Z"}}}},
    });
    t.add(Op{
        .name = "tokens.inspect",
        .summary = "Decode a token's header and claims WITHOUT verifying it",
        .params = {token_param("The token")},
        .route = {"POST", "/v1/tokens/inspect"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<TokenService>().inspect(a["token"].get<std::string>());
            },
        .response = ops::schema::object({{"verified", ops::schema::boolean()},
                                         {"warning", ops::schema::string()},
                                         {"header", ops::schema::free_object()},
                                         {"claims", ops::schema::free_object()}}),
        .examples = {{"Decode without verifying",
                      {{"token", k_example_jwt}},
                      {{"verified", false},
                       {"warning", "UNVERIFIED: decoded only; use tokens verify to trust it"},
                       {"header", {{"alg", "ES256"}, {"kid", "k7"}, {"typ", "JWT"}}},
                       {"claims", example_claims()}}}},
    });
    t.add(Op{
        .name = "tokens.jwks",
        .summary = "pb's own public verification keys as a JWKS document (never another "
                   "issuer's)",
        .route = {"GET", "/.well-known/jwks.json"},
        .handler = [](Context& ctx,
                      const json&) { return ctx.service<TokenService>().ring().jwks(); },
        .response = jwks_schema(),
        .examples = {{"pb's public keys",
                      json::object(),
                      {{"keys",
                        {{{"kty", "EC"},
                          {"crv", "P-256"},
                          {"kid", "k7"},
                          {"alg", "ES256"},
                          {"use", "sig"},
                          {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                          {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}}}}}},
    });
    t.add(Op{
        .name = "tokens.keys.list",
        .summary = "Signing and verification keys (never their secret parts), in kid order, a "
                   "page at a time",
        .params = {limit_param("keys"), cursor_param()},
        .permission = "tokens:read",
        .route = {"GET", "/v1/tokens/keys"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto [page, next] =
                    page_by_name(ctx.service<TokenService>().ring().list(), "signing_keys", a,
                                 [](const auto& k) { return k->kid; });
                auto out = key_rows(page);
                out["next_cursor"] = cursor_json(next);
                return out;
            },
        .quiet_field = "kid",
        .columns = {"kid", "alg", "status", "origin", "can_sign", "created_at"},
        .list_field = "keys",
        .response = ops::schema::object({{"keys", ops::schema::array(RingKey::schema())}}),
        .examples = {{"pb's signing keys", json::object(), {{"keys", {example_ring_key()}}}}},
    });
    t.add(Op{
        .name = "tokens.keys.rotate",
        .summary = "Make a new signing key: in the JWKS at once, it signs once 6 minutes old "
                   "(JWKS caches hold it by then); older keys of the alg keep verifying until "
                   "retired",
        .params = {Param{.name = "alg",
                         .help = "Algorithm [default: tokens.default_alg]",
                         .choices = alg_names()}},
        .permission = "tokens:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/tokens/keys/rotate"},
        .handler =
            [](Context& ctx, const json& a) {
                auto& tokens = ctx.service<TokenService>();
                return tokens.ring()
                    .rotate(opt_alg(a).value_or(tokens.settings().default_alg), ctx.caller.actor)
                    ->to_json();
            },
        .quiet_field = "kid",
        .audit_target = "alg",
        .response = RingKey::schema(),
        .examples = {{"A new ES256 signing key",
                      {{"alg", "ES256"}},
                      example_ring_key({{"kid", "k8"}})}},
    });
    t.add(Op{
        .name = "tokens.keys.retire",
        .summary = "Retire a key: tokens it signed stop verifying",
        .params = {Param{.name = "kid",
                         .help = "The key id",
                         .required = Required::yes,
                         .positional = Positional::yes}},
        .permission = "tokens:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/tokens/keys/{kid}/retire"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<TokenService>()
                    .ring()
                    .retire(a["kid"].get<std::string>())
                    ->to_json();
            },
        .audit_target = "kid",
        .response = RingKey::schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"Retire a key",
                      {{"kid", "k7"}},
                      example_ring_key({{"status", "retired"},
                                        {"can_sign", false},
                                        {"retired_at", "2026-01-03T00:00:00.000Z"}})}},
    });
    register_tokens_issuer_ops(t);
}

}  // namespace pb::tokens
