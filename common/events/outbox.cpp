#include "common/events/outbox.hpp"

#include <algorithm>

#include "common/core/json_parse.hpp"
#include "common/events/publisher.hpp"
#include "common/events/topics.hpp"

namespace pb::events {

void append(store::Connection& c, std::string_view topic, std::string_view type,
            const nlohmann::json& data, UnixMillis now) {
    auto* publisher = c.publisher();
    if (publisher == nullptr) {
        c.exec("INSERT INTO events (topic, type, data, created_at) VALUES ($1, $2, $3, $4)",
               {std::string(topic), std::string(type), data.dump(), now});
        return;
    }
    const auto seq = c.query(
                          "INSERT INTO events (topic, type, data, created_at) VALUES ($1, $2, $3, "
                          "$4) RETURNING seq",
                          {std::string(topic), std::string(type), data.dump(), now})
                         .front()
                         .get_int(0);
    c.after_commit([publisher, e = Event{seq, std::string(topic), std::string(type), data, now}] {
        publisher->publish(e);
    });
}

std::vector<Event> read_after(store::Connection& c, std::int64_t after, int limit) {
    const auto rows = c.query(
        "SELECT seq, topic, type, data, created_at FROM events WHERE seq > $1 ORDER BY seq LIMIT "
        "$2",
        {after, static_cast<std::int64_t>(limit)});
    std::vector<Event> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(Event{r.get_int(0), r.get_text(1), r.get_text(2),
                            parse_json_or_discarded(r.get_text(3), {k_max_stored_json_depth}),
                            r.get_int(4)});
    }
    return out;
}

Page read_page(store::Connection& c, std::int64_t after, int limit, std::string_view pattern,
               UnixMillis now) {
    // Reads in batches until `limit` events match: a page of a rare topic is
    // not an empty page with a cursor. The scan is bounded, so a topic with
    // no events left costs k_page_scan_max rows, then a cursor to go on.
    const int batch = std::max(limit, 256);
    Page page{.position = after};
    for (int scanned = 0; scanned < k_page_scan_max;) {
        const int want = std::min(batch, k_page_scan_max - scanned);
        const auto rows = read_after(c, page.position, want);
        scanned += static_cast<int>(rows.size());
        for (const auto& e : rows) {
            if (e.seq != page.position + 1 && now - e.created_at < k_commit_gap_wait.count()) {
                page.more = true;
                return page;
            }
            if (topic_matches(pattern, e.topic)) {
                if (static_cast<int>(page.events.size()) == limit) {
                    page.more = true;  // the page is full and this one comes next
                    return page;
                }
                page.events.push_back(e);
            }
            page.position = e.seq;
        }
        if (static_cast<int>(rows.size()) < want) {
            return page;  // the end of the outbox
        }
    }
    page.more = true;  // the scan bound: the cursor goes on from here
    return page;
}

std::int64_t latest_seq(store::Connection& c) {
    return c.query("SELECT COALESCE(MAX(seq), 0) FROM events").front().get_int(0);
}

std::int64_t oldest_seq(store::Connection& c) {
    return c.query("SELECT COALESCE(MIN(seq), 0) FROM events").front().get_int(0);
}

std::int64_t prune(store::Connection& c, UnixMillis cutoff, std::int64_t limit) {
    // The first seq to keep: the oldest event young enough, or the newest one.
    // The scan walks seq upwards and stops there, so it reads what it deletes.
    const auto latest = latest_seq(c);
    if (latest == 0) {
        return 0;
    }
    const auto young =
        c.query("SELECT seq FROM events WHERE created_at >= $1 ORDER BY seq LIMIT 1", {cutoff});
    auto keep_from = young.empty() ? latest : std::min(young.front().get_int(0), latest);
    const auto oldest = oldest_seq(c);
    keep_from = std::min(keep_from, oldest + limit);
    return c.exec("DELETE FROM events WHERE seq < $1", {keep_from});
}

}  // namespace pb::events
