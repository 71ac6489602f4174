#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/admission/pipeline.hpp"
#include "common/limits/bouncer_pulls.hpp"
#include "common/runtime/services.hpp"
#include "daemon/http/request.hpp"

namespace pb::daemon {

// CrowdSec's Local API, the bouncer side, so CrowdSec's bouncers (nftables,
// nginx, HAProxy, Traefik, a custom script) enforce pb's ip and range bans:
//   GET|HEAD /v1/decisions/stream?startup=…&scopes=…&origins=…&scenarios_…
//   GET|HEAD /v1/decisions?ip=… | range=… | scope=…&value=… [&type=ban]
// Answers in CrowdSec's shape (limits/crowdsec.hpp), not pb's op shape, and
// needs the client address (the pull state is per key and address), so they
// are pbd routes outside the op table, documented in docs/openapi_routes.cpp.
// Admitted like /v1/auth with ?permission=bans:read: a key without it gets
// 403. HEAD is the bouncers' health probe: admitted, answered empty, and it
// moves no pull state. Nothing here writes a ban. Thread-safe.
class CrowdSecRoutes {
  public:
    explicit CrowdSecRoutes(Services& services);

    // True for the two paths above.
    static bool owns(std::string_view path);
    // "METHOD /path" of each (Router::routes).
    static std::vector<std::string> routes();
    // The permission a caller needs.
    static constexpr std::string_view k_permission = "bans:read";

    // Answers `request` for `path` (owns(path)); throws pb::Error (or
    // StatusError 405) for the router to answer.
    int handle(const Request& request, std::string_view path, std::string_view query,
               Response& response);

  private:
    int stream(const admission::Verdict& verdict, const nlohmann::json& query, Response& response);
    int lookup(const nlohmann::json& query, Response& response);

    Services& m_services;
    const admission::Pipeline& m_admission;
    limits::BouncerPulls m_pulls;
};

}  // namespace pb::daemon
