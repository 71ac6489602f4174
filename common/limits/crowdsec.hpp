#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/limits/ban.hpp"

// pb's bans in the words of CrowdSec's Local API, for its bouncers
// (crowdsec-firewall-bouncer, -custom-bouncer, the nginx/HAProxy/Traefik
// ones): the decision shape and the stream's filters. Transport-free; pbd's
// /v1/decisions routes (daemon/http/crowdsec_routes.cpp) answer with them.
namespace pb::limits::crowdsec {

// A duration in Go's time.Duration.String() syntax, which bouncers parse with
// time.ParseDuration: "3h59m12.5s", "1m0s", "250ms", "0s", "-4.2s".
std::string go_duration(std::int64_t ms);

// What a permanent ban (no expiry) is told to last: ten years, so a bouncer
// that turns it into a kernel timeout does not overflow.
inline constexpr std::int64_t k_permanent_ms = 10LL * 365 * 24 * 3600 * 1000;

// The origin a bouncer sees: "cscli" for a ban an operator set, "crowdsec"
// for an automatic one (CrowdSec's words for the same two sources).
std::string_view origin_of(const Ban& ban);

// The scenario a bouncer sees: the ban's reason, or "pb/ban" when it has none.
std::string scenario_of(const Ban& ban);

// One decision: {"id","origin","type":"ban","scope":"Ip"|"Range","value",
// "duration","scenario","simulated":false}, `duration` the time left at `now`
// (negative once expired). Only for ip and range bans.
nlohmann::json decision_json(const Ban& ban, UnixMillis now);

// The stream's query filters. Each list empty: no filter on it.
struct DecisionFilter {
    std::vector<BanKind> scopes{BanKind::ip, BanKind::range};  // default "ip,range"
    // Origins asked for (CrowdSec's: crowdsec, cscli, CAPI, console, lists:NAME);
    // pb's bans are only ever "cscli" or "crowdsec".
    std::vector<std::string> origins;
    std::vector<std::string> scenarios_containing;      // any of these substrings
    std::vector<std::string> scenarios_not_containing;  // none of these

    bool matches(const Ban& ban) const;
    // The same filter always gives the same text (a puller's stored filter:
    // when its next pull asks with another one, it is compared afresh).
    std::string key() const;
};

// A CrowdSec boolean (Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F
// FALSE false False). Error(invalid_argument) naming `param` otherwise.
bool parse_bool(std::string_view param, std::string_view text);

// The filters of `query` (a JSON object of strings, as pbd decodes a query).
// Error(invalid_argument) for an unknown scope or origin, an empty or
// oversized list. Names it does not know are left alone (bouncers send more
// as CrowdSec grows: community_pull, additional_pull).
DecisionFilter parse_filter(const nlohmann::json& query);

}  // namespace pb::limits::crowdsec
