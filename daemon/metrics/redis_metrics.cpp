#include "daemon/metrics/redis_metrics.hpp"

#include "common/keys/redis_cache.hpp"
#include "common/limits/service.hpp"
#include "common/redis/client.hpp"
#include "common/redis/event_bus.hpp"
#include "daemon/metrics/prometheus_text.hpp"

namespace pb::daemon {

void append_redis_metrics(Services& services, std::string& out) {
    auto* redis = services.redis();
    if (redis == nullptr) {
        return;
    }
    append_metric(out, "pb_redis_up", "gauge", "1 when the last Redis call succeeded.",
                  redis->up() ? 1 : 0);
    append_metric(out, "pb_redis_errors_total", "counter",
                  "Redis calls that failed (unreachable, timed out, refused).", redis->errors());
    append_metric(out, "pb_redis_connect_failures_total", "counter",
                  "Attempts to open a Redis connection that failed.", redis->connect_failures());
    if (auto* bus = services.event_bus()) {
        append_metric(out, "pb_redis_subscribed", "gauge",
                      "1 while pbd listens on the events channel.", bus->listening() ? 1 : 0);
        append_metric(
            out, "pb_redis_subscriptions_total", "counter",
            "Subscriptions to the events channel, the first included; each later one reloads "
            "from the database what was missed.",
            bus->resyncs());
        append_metric(out, "pb_redis_events_published_total", "counter",
                      "Events this pbd committed and announced on Redis.", bus->published());
        append_metric(out, "pb_redis_events_publish_failures_total", "counter",
                      "Events not announced (Redis down); readers find them in the outbox.",
                      bus->publish_failures());
        append_metric(out, "pb_redis_commands_failed_total", "counter",
                      "Other background commands (room relay and membership) that failed.",
                      bus->send_failures());
        append_metric(out, "pb_redis_events_received_total", "counter",
                      "Events announced on Redis by any pbd or pbctl and received here.",
                      bus->received());
    }
    if (const auto* cache = services.keys().redis_cache()) {
        append_family(out, "pb_redis_key_cache_total", "counter",
                      "API key lookups that missed pbd's memory, by what the Redis tier answered "
                      "(stale: an entry older than a change this pbd applied, refused).");
        append_sample(out, "pb_redis_key_cache_total", "{result=\"hit\"}", cache->hits());
        append_sample(out, "pb_redis_key_cache_total", "{result=\"miss\"}", cache->misses());
        append_sample(out, "pb_redis_key_cache_total", "{result=\"stale\"}", cache->stale());
        append_sample(out, "pb_redis_key_cache_total", "{result=\"error\"}", cache->errors());
    }
    auto& limits = services.limits();
    append_family(out, "pb_limits_redis_failures_total", "counter",
                  "Rate-limit checks Redis could not answer, by the failure policy applied.");
    append_sample(out, "pb_limits_redis_failures_total", "{policy=\"open\"}", limits.failed_open());
    append_sample(out, "pb_limits_redis_failures_total", "{policy=\"closed\"}",
                  limits.failed_closed());
}

}  // namespace pb::daemon
