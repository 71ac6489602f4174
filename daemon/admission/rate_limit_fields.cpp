#include "daemon/admission/rate_limit_fields.hpp"

#include <algorithm>
#include <tuple>

namespace pb::daemon {
namespace {

std::string seconds_up(std::int64_t ms) {
    return std::to_string(ms <= 0 ? 0 : (ms + 999) / 1000);
}

// An sf-string (RFC 8941 §3.3.3): the names are pb's own ASCII words, but
// escape as the grammar says rather than trust that.
void append_sf_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
}

bool counted(const AppliedLimit& a) {
    return a.result.limit > 0;
}

}  // namespace

std::string rate_limit_policy_field(std::span<const AppliedLimit> applied) {
    std::string out;
    for (const auto& a : applied) {
        if (!counted(a)) {
            continue;
        }
        if (!out.empty()) {
            out += ", ";
        }
        append_sf_string(out, a.name);
        out += ";q=" + std::to_string(a.result.limit);
        // w is at least one second: a window of 0 means nothing to a client.
        out += ";w=" + std::to_string(std::max<std::int64_t>(1, (a.result.window_ms + 999) / 1000));
    }
    return out;
}

const AppliedLimit* most_restrictive(std::span<const AppliedLimit> applied) {
    const AppliedLimit* best = nullptr;
    const auto rank = [](const AppliedLimit& a) {
        return std::make_tuple(a.result.allowed, a.result.remaining, -a.result.reset_after_ms);
    };
    for (const auto& a : applied) {
        if (counted(a) && (best == nullptr || rank(a) < rank(*best))) {
            best = &a;
        }
    }
    return best;
}

std::string rate_limit_field(const AppliedLimit& limit) {
    std::string out;
    append_sf_string(out, limit.name);
    out += ";r=" + std::to_string(limit.result.remaining);
    out += ";t=" + seconds_up(limit.result.reset_after_ms);
    return out;
}

void set_rate_limit_fields(std::span<const AppliedLimit> applied, Response& response) {
    std::erase_if(response.headers, [](const auto& h) {
        return iequals(h.first, "RateLimit-Policy") || iequals(h.first, "RateLimit") ||
               iequals(h.first, "Retry-After");
    });
    const auto* restrictive = most_restrictive(applied);
    if (restrictive == nullptr) {
        return;
    }
    response.headers.emplace_back("RateLimit-Policy", rate_limit_policy_field(applied));
    response.headers.emplace_back("RateLimit", rate_limit_field(*restrictive));
    // A refusal by a limit (a banned identifier's decision has no retry time).
    if (!restrictive->result.allowed && restrictive->result.retry_after_ms > 0) {
        response.headers.emplace_back("Retry-After",
                                      seconds_up(restrictive->result.retry_after_ms));
    }
}

}  // namespace pb::daemon
