#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace pb::limits {

// Denials a shadow policy did not enforce, by policy name (AppliedPolicy::
// name: "scope:ip", "override:user:acme-*", a named key limit, …): what
// pbd's /metrics renders as pb_limit_shadow_denied_total{policy}. Any code
// that judges a shadow limit counts here (LimitService::shadow_denials()).
// The names are the operators' policies, so the map stays small.
// Thread-safe.
class ShadowCounters {
  public:
    void add(std::string_view policy) {
        std::lock_guard lock(m_mutex);
        auto it = m_counts.find(policy);
        if (it == m_counts.end()) {
            it = m_counts.emplace(std::string(policy), 0).first;
        }
        ++it->second;
    }
    std::map<std::string, std::uint64_t, std::less<>> snapshot() const {
        std::lock_guard lock(m_mutex);
        return m_counts;
    }

  private:
    mutable std::mutex m_mutex;
    std::map<std::string, std::uint64_t, std::less<>> m_counts;
};

}  // namespace pb::limits
