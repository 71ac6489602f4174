#include "daemon/ws/credential_watch.hpp"

#include <algorithm>
#include <string_view>

namespace pb::daemon::ws {

CredentialWatch::CredentialWatch(OfferFn to_caches) : m_to_caches(std::move(to_caches)) {}

void CredentialWatch::watch(std::uint64_t session, std::weak_ptr<WsSink> sink,
                            const ops::Caller& caller) {
    std::lock_guard lock(m_mutex);
    m_sessions[session] = {std::move(sink), caller.key_id, caller.key_id.empty()};
}

void CredentialWatch::forget(std::uint64_t session) {
    std::lock_guard lock(m_mutex);
    m_sessions.erase(session);
}

void CredentialWatch::on_events(const std::vector<events::Event>& batch) {
    bool tokens = false;
    bool bans = false;
    std::vector<std::string_view> keys;
    for (const auto& e : batch) {
        const std::string_view topic = e.topic;
        const bool key = topic.starts_with("keys/");
        const bool token = topic.starts_with("tokens/");
        const bool ban = topic == "bans" || topic.starts_with("bans/");
        if (!key && !token && !ban) {
            continue;
        }
        m_to_caches(e);
        tokens = tokens || token;
        bans = bans || ban;
        if (key) {
            keys.push_back(topic.substr(5));
        }
    }
    if (!tokens && !bans && keys.empty()) {
        return;
    }
    std::vector<std::shared_ptr<WsSink>> sinks;
    {
        std::lock_guard lock(m_mutex);
        for (auto& [id, s] : m_sessions) {
            const bool concerned =
                bans || (s.jwt && tokens) ||
                (!s.jwt && std::find(keys.begin(), keys.end(), s.key_id) != keys.end());
            if (!concerned) {
                continue;
            }
            if (auto sink = s.sink.lock()) {
                sinks.push_back(std::move(sink));
            }
        }
    }
    // Outside the lock: a re-check may run at once.
    for (auto& sink : sinks) {
        sink->recheck();
    }
}

}  // namespace pb::daemon::ws
