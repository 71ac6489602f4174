#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/store/store.hpp"

namespace pb::events {

// How long a reader waits for a missing seq below ones it has seen before it
// takes it for a rolled-back transaction's. On PostgreSQL a seq is taken at
// INSERT and becomes visible at COMMIT, so a lower seq can appear later.
inline constexpr std::chrono::milliseconds k_commit_gap_wait{3000};

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

// One page of the outbox for a reader that holds its own position (a list,
// a stream over HTTP): the events after `after` whose topic `pattern` selects
// (events/topics.hpp), at most `limit` of them, reading at most
// k_page_scan_max events to find them (then `more`, and the position moved
// on, so the next page goes on from there). On PostgreSQL a seq is
// taken at INSERT and seen at COMMIT, so a missing seq just below an event
// younger than k_commit_gap_wait may still come: the page stops before it.
// An older gap is a rolled-back transaction's, or pruned, and is stepped over.
inline constexpr int k_page_scan_max = 10'000;
struct Page {
    std::vector<Event> events;  // those `pattern` selects
    std::int64_t position = 0;  // where the next page starts (the last seq read)
    bool more = false;          // more may follow right now (a full page, a bound, a young gap)
};
Page read_page(store::Connection& c, std::int64_t after, int limit, std::string_view pattern,
               UnixMillis now);

// The highest seq so far (0 when empty).
std::int64_t latest_seq(store::Connection& c);

// The lowest seq still kept (0 when empty). Events between a reader's
// position and this one were pruned: the reader has a gap.
std::int64_t oldest_seq(store::Connection& c);

// Deletes events created before `cutoff`, at most `limit` of them (oldest
// first), but never the newest event: seqs are never reused, and keeping the
// last one lets a reader tell "pruned" from "nothing happened". Walks the
// primary key only (no index on created_at is needed: seq order is close to
// creation order). Returns how many were deleted.
std::int64_t prune(store::Connection& c, UnixMillis cutoff, std::int64_t limit);

}  // namespace pb::events
