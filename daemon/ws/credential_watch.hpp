#pragma once
// Beast-free: which sessions an event may have withdrawn the credential of.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/events/outbox.hpp"
#include "common/ops/op.hpp"
#include "daemon/ws/sink.hpp"

namespace pb::daemon::ws {

// Follows what each authenticated session's credential hangs on (its API key,
// or token revocations for a JWT; bans for both), and asks the sessions an
// event concerns to re-check (WsSink::recheck). Thread-safe.
class CredentialWatch {
  public:
    // Hands an event to the caches (Follower::offer) before any re-check:
    // the re-check must not read a stale index.
    using OfferFn = std::function<void(const events::Event&)>;
    explicit CredentialWatch(OfferFn to_caches);

    // The session authenticated (again) as `caller`.
    void watch(std::uint64_t session, std::weak_ptr<WsSink> sink, const ops::Caller& caller);
    void forget(std::uint64_t session);

    // For each event on keys/<id>, tokens/* or bans (in `batch` order):
    // offers it to the caches; then asks the sessions concerned to re-check
    // (keys/<id>: the sessions of that key; tokens/*: every JWT session;
    // bans: every session), once each.
    void on_events(const std::vector<events::Event>& batch);

  private:
    struct Watched {
        std::weak_ptr<WsSink> sink;
        std::string key_id;  // the API key it authenticated with
        bool jwt = false;    // authenticated with a token
    };

    const OfferFn m_to_caches;
    std::mutex m_mutex;
    std::unordered_map<std::uint64_t, Watched> m_sessions;
};

}  // namespace pb::daemon::ws
