#include "common/tokens/issuer_ops.hpp"

#include "common/core/error.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/tokens/service.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using namespace pb::ops;

Param name_param() {
    return Param{.name = "name",
                 .help = "The issuer's name in pb",
                 .required = Required::yes,
                 .positional = Positional::yes,
                 .values_from = {"tokens.issuers.list", "name"}};
}

// The params add and update share; `add` makes issuer required.
std::vector<Param> spec_params(bool add) {
    std::vector<Param> out{name_param()};
    out.push_back(Param{.name = "issuer",
                        .help = "The \"iss\" its tokens carry; only tokens naming it are checked "
                                "with its keys",
                        .required = add ? Required::yes : Required::no});
    out.push_back(Param{.name = "jwks_url",
                        .help = "The URL of its JWKS (https://), fetched and followed by pb"});
    out.push_back(Param{.name = "jwk",
                        .type = ParamType::json_object,
                        .help = "Its public JWK or JWKS (an HMAC key for a shared secret)",
                        .secret = Secret::yes});
    out.push_back(Param{.name = "audience",
                        .help = add ? "Require this \"aud\" of its tokens"
                                    : "Require this \"aud\" of its tokens (\"\" for none)"});
    out.push_back(Param{.name = "grants",
                        .type = ParamType::string_list,
                        .help = std::string("A permission its tokens may carry (repeatable); "
                                            "none: they authenticate with no permission") +
                                (add ? "" : "; replaces the current ones"),
                        .flag = "grant"});
    if (!add) {
        out.push_back(Param{.name = "clear_grants",
                            .type = ParamType::boolean,
                            .help = "Remove every grant",
                            .fallback = false});
    }
    Param http{.name = "allow_http",
               .type = ParamType::boolean,
               .help = "Accept an http:// JWKS URL (for tests on loopback)"};
    if (add) {
        http.fallback = false;
    }
    out.push_back(http);
    return out;
}

IssuerSpec spec_from(const json& a) {
    IssuerSpec s;
    if (a.contains("issuer"))
        s.issuer = a["issuer"].get<std::string>();
    if (a.contains("jwks_url"))
        s.jwks_url = a["jwks_url"].get<std::string>();
    if (a.contains("jwk"))
        s.jwk = a["jwk"];
    if (a.contains("audience"))
        s.audience = a["audience"].get<std::string>();
    if (a.contains("grants"))
        s.grants = a["grants"].get<std::vector<std::string>>();
    if (a.value("clear_grants", false)) {
        if (s.grants) {
            throw Error(ErrorCode::invalid_argument, "grant and clear_grants cannot be combined");
        }
        s.grants = std::vector<std::string>{};
    }
    if (a.contains("allow_http"))
        s.allow_http = a["allow_http"].get<bool>();
    return s;
}

// Trusting an issuer with a grant lets its tokens act with it: only a caller
// holding every grant may set, change or remove them (else tokens:write would
// be admin by way of an issuer of one's own).
void require_holds(const Caller& caller, const std::vector<std::string>& grants) {
    for (const auto& g : grants) {
        if (!has_permission(caller.permissions, g) ||
            ((g == "admin" || g == "*") && !has_permission(caller.permissions, "admin"))) {
            throw Error(ErrorCode::permission_denied,
                        "only a caller holding \"" + g + "\" may trust an issuer with it",
                        {{"permission", g}});
        }
    }
}

json example_issuer(bool detail) {
    json row{{"name", "corp-idp"},
             {"issuer", "https://idp.example.com/"},
             {"status", "enabled"},
             {"audience", "pbd"},
             {"grants", {"states:read"}},
             {"jwks_url", "https://idp.example.com/.well-known/jwks.json"},
             {"allow_http", false},
             {"created_at", "2026-01-02T03:04:05.678Z"},
             {"updated_at", "2026-01-02T03:04:05.678Z"}};
    if (detail) {
        row["created_by"] = "local:ops";
        row["keys"] = json::array();
        row["jwks"] = {{"url", "https://idp.example.com/.well-known/jwks.json"},
                       {"fetched_at", "2026-01-02T03:04:06.001Z"},
                       {"keys", {{{"kid", "idp-1"}, {"alg", "RS256"}}}},
                       {"last_error", nullptr},
                       {"fetches", 1}};
    }
    return row;
}

}  // namespace

void register_tokens_issuer_ops(OpTable& t) {
    t.add(Op{
        .name = "tokens.issuers.add",
        .summary = "Trust another issuer's tokens: its iss, its keys (a JWKS URL or a JWK), an "
                   "optional audience and the permissions it may grant",
        .params = spec_params(true),
        .permission = "tokens:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/tokens/issuers", 201},
        .handler =
            [](Context& ctx, const json& a) {
                const auto spec = spec_from(a);
                require_holds(ctx.caller, spec.grants.value_or(std::vector<std::string>{}));
                return ctx.service<TokenService>()
                    .issuers()
                    .add(a["name"].get<std::string>(), spec, ctx.caller.actor)
                    ->to_json(true);
            },
        .quiet_field = "name",
        .audit_target = "name",
        .response = TrustedIssuer::schema(true),
        .errors = {ErrorCode::conflict},
        .examples = {{"Trust a company IdP for reading states",
                      {{"name", "corp-idp"},
                       {"issuer", "https://idp.example.com/"},
                       {"jwks_url", "https://idp.example.com/.well-known/jwks.json"},
                       {"audience", "pbd"},
                       {"grants", {"states:read"}}},
                      example_issuer(true)}},
    });
    t.add(Op{
        .name = "tokens.issuers.list",
        .summary = "The trusted issuers, in name order, a page at a time",
        .params = {limit_param("issuers"), cursor_param()},
        .permission = "tokens:read",
        .route = {"GET", "/v1/tokens/issuers"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto [page, next] =
                    page_by_name(ctx.service<TokenService>().issuers().list(), "issuers", a,
                                 [](const auto& i) { return i->name; });
                json rows = json::array();
                for (const auto& i : page) {
                    rows.push_back(i->to_json(false));
                }
                return json{{"issuers", rows}, {"next_cursor", cursor_json(next)}};
            },
        .quiet_field = "name",
        .columns = {"name", "issuer", "status", "audience", "grants", "jwks_url"},
        .list_field = "issuers",
        .response =
            ops::schema::object({{"issuers", ops::schema::array(TrustedIssuer::schema(false))}}),
        .examples = {{"The trusted issuers",
                      json::object(),
                      {{"issuers", {example_issuer(false)}}}}},
    });
    t.add(Op{
        .name = "tokens.issuers.show",
        .summary = "A trusted issuer, its keys and the state of its JWKS URL",
        .params = {name_param()},
        .permission = "tokens:read",
        .route = {"GET", "/v1/tokens/issuers/{name}"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<TokenService>()
                    .issuers()
                    .get(a["name"].get<std::string>())
                    ->to_json(true);
            },
        .response = TrustedIssuer::schema(true),
        .errors = {ErrorCode::not_found},
        .examples = {{"One issuer", {{"name", "corp-idp"}}, example_issuer(true)}},
    });
    t.add(Op{
        .name = "tokens.issuers.update",
        .summary = "Change a trusted issuer (pin the iss of one imported before issuers existed)",
        .params = spec_params(false),
        .permission = "tokens:write",
        .mutates = Mutates::yes,
        .route = {"PATCH", "/v1/tokens/issuers/{name}"},
        .handler =
            [](Context& ctx, const json& a) {
                auto& issuers = ctx.service<TokenService>().issuers();
                const auto name = a["name"].get<std::string>();
                const auto spec = spec_from(a);
                require_holds(ctx.caller, issuers.get(name)->grants);
                if (spec.grants) {
                    require_holds(ctx.caller, *spec.grants);
                }
                return issuers.update(name, spec, ctx.caller.actor)->to_json(true);
            },
        .audit_target = "name",
        .response = TrustedIssuer::schema(true),
        .errors = {ErrorCode::not_found},
        .examples = {{"Require another audience",
                      {{"name", "corp-idp"}, {"audience", "pb-admin"}},
                      [] {
                          auto j = example_issuer(true);
                          j["audience"] = "pb-admin";
                          return j;
                      }()}},
    });
    t.add(Op{
        .name = "tokens.issuers.remove",
        .summary = "Stop trusting an issuer: its tokens are refused at once",
        .params = {name_param()},
        .permission = "tokens:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/tokens/issuers/{name}"},
        .handler =
            [](Context& ctx, const json& a) {
                auto& issuers = ctx.service<TokenService>().issuers();
                const auto name = a["name"].get<std::string>();
                require_holds(ctx.caller, issuers.get(name)->grants);
                issuers.remove(name, ctx.caller.actor);
                return json{{"name", name}, {"removed", true}};
            },
        .quiet_field = "name",
        .audit_target = "name",
        .response = ops::schema::object(
            {{"name", ops::schema::string()}, {"removed", ops::schema::boolean()}}),
        .errors = {ErrorCode::not_found},
        .examples = {{"Stop trusting an issuer",
                      {{"name", "corp-idp"}},
                      {{"name", "corp-idp"}, {"removed", true}}}},
    });
}

}  // namespace pb::tokens
