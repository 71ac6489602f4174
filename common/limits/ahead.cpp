#include "common/limits/ahead.hpp"

#include "common/core/error.hpp"
#include "common/limits/redis_limiter.hpp"

namespace pb::limits {
namespace {

thread_local PrepaidChecks* t_prepaid = nullptr;

// The answers of one request's checks, gathered as they come.
struct Gathered {
    std::vector<RedisCall> calls;
    std::vector<std::optional<LimitResult>> results;
    std::size_t left = 0;
    std::function<void()> then;
};

}  // namespace

PrepaidChecks::PrepaidChecks() : m_outer(t_prepaid) {
    t_prepaid = this;
}

PrepaidChecks::~PrepaidChecks() {
    t_prepaid = m_outer;
}

void PrepaidChecks::add(std::string key, const Policy& policy, LimitResult result) {
    m_entries.push_back({std::move(key), policy, result});
}

std::optional<LimitResult> PrepaidChecks::take(std::string_view key, const Policy& policy) {
    if (t_prepaid == nullptr) {
        return std::nullopt;
    }
    for (auto& e : t_prepaid->m_entries) {
        if (!e.used && e.key == key && e.policy.count == policy.count &&
            e.policy.period_ms == policy.period_ms && e.policy.burst == policy.burst) {
            e.used = true;
            return e.result;
        }
    }
    return std::nullopt;
}

void check_ahead(ScriptChannel& channel, std::vector<RedisCall> calls, std::function<void()> then) {
    auto gathered = std::make_shared<Gathered>();
    gathered->results.resize(calls.size());
    gathered->left = calls.size();
    gathered->calls = std::move(calls);
    gathered->then = std::move(then);
    for (std::size_t i = 0; i < gathered->calls.size(); ++i) {
        const auto& call = gathered->calls[i];
        channel.check(gcra_script(), call.key, call.args,
                      [gathered, i](const redis::Reply* reply, std::size_t at) {
                          if (reply != nullptr) {
                              try {
                                  gathered->results[i] =
                                      gcra_result(*reply, at, gathered->calls[i].policy,
                                                  RedisCall::k_cost, true);
                              } catch (const Error&) {
                                  // An unexpected reply: the blocking path asks again.
                              }
                          }
                          if (--gathered->left > 0) {
                              return;
                          }
                          PrepaidChecks prepaid;
                          for (std::size_t k = 0; k < gathered->calls.size(); ++k) {
                              if (gathered->results[k]) {
                                  prepaid.add(gathered->calls[k].key, gathered->calls[k].policy,
                                              *gathered->results[k]);
                              }
                          }
                          gathered->then();
                      });
    }
}

}  // namespace pb::limits
