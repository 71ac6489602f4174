#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/store/store.hpp"

namespace pb::events {

// One change, as stored in the outbox and pushed to subscribers.
struct Event {
    std::int64_t seq = 0;
    std::string topic;  // e.g. "keys/abc123"
    std::string type;   // e.g. "key.revoked"
    nlohmann::json data;
    UnixMillis created_at = 0;
};

// Appends an event inside the caller's transaction, so the change and its event
// commit together. Never put a secret in `data`.
void append(store::Connection& c, std::string_view topic, std::string_view type,
            const nlohmann::json& data, UnixMillis now);

// Events with seq > after, oldest first, at most `limit`.
std::vector<Event> read_after(store::Connection& c, std::int64_t after, int limit);

// The highest seq so far (0 when empty).
std::int64_t latest_seq(store::Connection& c);

}  // namespace pb::events
