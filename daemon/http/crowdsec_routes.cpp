#include "daemon/http/crowdsec_routes.hpp"

#include "common/limits/ban_service.hpp"
#include "common/limits/crowdsec.hpp"
#include "daemon/admission/request_admission.hpp"
#include "daemon/http/op_args.hpp"

namespace pb::daemon {
namespace {

using nlohmann::json;

constexpr std::string_view k_stream = "/v1/decisions/stream";
constexpr std::string_view k_lookup = "/v1/decisions";

std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The one value of `name`, or empty when absent.
std::string one(const json& query, const char* name) {
    if (!query.contains(name)) {
        return {};
    }
    if (!query[name].is_string() || query[name].get<std::string>().empty()) {
        throw Error(ErrorCode::invalid_argument, std::string(name) + ": one non-empty value",
                    {{"param", name}});
    }
    return query[name].get<std::string>();
}

}  // namespace

CrowdSecRoutes::CrowdSecRoutes(Services& services)
    : m_services(services),
      m_admission(services.admission()),
      m_pulls(services.store(), services.clock()) {}

bool CrowdSecRoutes::owns(std::string_view path) {
    return path == k_stream || path == k_lookup;
}

std::vector<std::string> CrowdSecRoutes::routes() {
    return {"GET /v1/decisions", "HEAD /v1/decisions", "GET /v1/decisions/stream",
            "HEAD /v1/decisions/stream"};
}

int CrowdSecRoutes::handle(const Request& request, std::string_view path, std::string_view query,
                           Response& response) {
    const bool head = request.method == "HEAD";
    if (!head && request.method != "GET") {
        response.headers.emplace_back("Allow", "GET, HEAD");
        throw StatusError(405, ErrorCode::invalid_argument,
                          std::string(path) + " answers GET and HEAD", {{"allow", "GET, HEAD"}});
    }
    auto facts = facts_of(request, admission::Door::auth);
    facts.permission = k_permission;
    const auto verdict = m_admission.admit(facts);
    enforce(verdict, response);
    // Checked before HEAD answers, so a probe with a typo fails as the pull would.
    const auto q = query_args(query);
    if (head) {
        if (path == k_stream) {
            if (const auto startup = one(q, "startup"); !startup.empty()) {
                (void)limits::crowdsec::parse_bool("startup", startup);
            }
            (void)limits::crowdsec::parse_filter(q);
        }
        response.content_type = "application/json";
        return 200;
    }
    return path == k_stream ? stream(verdict, q, response) : lookup(q, response);
}

int CrowdSecRoutes::stream(const admission::Verdict& verdict, const json& query,
                           Response& response) {
    const auto startup_text = one(query, "startup");
    const bool startup =
        !startup_text.empty() && limits::crowdsec::parse_bool("startup", startup_text);
    const auto filter = limits::crowdsec::parse_filter(query);
    const auto& caller = verdict.credential->caller;
    const auto address = verdict.client ? limits::to_string(*verdict.client) : std::string("-");
    response.content_type = "application/json";
    response.body = dump(m_pulls.pull(caller.actor, address, startup, filter));
    return 200;
}

int CrowdSecRoutes::lookup(const json& query, Response& response) {
    auto ip = one(query, "ip");
    auto range = one(query, "range");
    const auto scope = one(query, "scope");
    const auto value = one(query, "value");
    const auto type = one(query, "type");
    if (!scope.empty() || !value.empty()) {
        if (scope.empty() || value.empty() || !ip.empty() || !range.empty()) {
            throw Error(ErrorCode::invalid_argument,
                        "scope and value: both, and without ip or range", {{"param", "scope"}});
        }
        std::string s = scope;
        for (auto& c : s) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (s == "ip") {
            ip = value;
        } else if (s == "range") {
            range = value;
        } else {
            throw Error(ErrorCode::invalid_argument, "scope: ip or range", {{"param", "scope"}});
        }
    }
    if (ip.empty() == range.empty()) {
        throw Error(ErrorCode::invalid_argument,
                    "ask for one of ip=ADDRESS, range=CIDR or scope=ip|range&value=…",
                    {{"param", "ip"}});
    }
    if (!type.empty() && type != "ban" && type != "captcha" && type != "throttle") {
        throw Error(ErrorCode::invalid_argument, "type: ban (pb's only kind of decision)",
                    {{"param", "type"}});
    }
    std::shared_ptr<const limits::Ban> ban;
    auto& bans = m_services.bans();
    if (!ip.empty()) {
        const auto address = limits::parse_ip(ip);
        if (!address) {
            throw Error(ErrorCode::invalid_argument, "ip: an IPv4 or IPv6 address",
                        {{"param", "ip"}});
        }
        ban = bans.match_address(*address);
    } else {
        const auto target = limits::parse_target(range);
        if (target.kind != limits::BanKind::range && target.kind != limits::BanKind::ip) {
            throw Error(ErrorCode::invalid_argument, "range: a CIDR range", {{"param", "range"}});
        }
        ban = bans.check(target.text());
    }
    response.content_type = "application/json";
    // CrowdSec answers "none" as null; pb has only bans, so type=captcha finds none.
    if (!ban || (!type.empty() && type != "ban") ||
        (ban->target.kind != limits::BanKind::ip && ban->target.kind != limits::BanKind::range)) {
        response.body = "null";
        return 200;
    }
    response.body =
        dump(json::array({limits::crowdsec::decision_json(*ban, m_services.clock().now())}));
    return 200;
}

}  // namespace pb::daemon
