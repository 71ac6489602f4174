#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/keys/named_limit.hpp"

namespace pb::keys {

// keys.verify's judge: the key, then everything that may refuse it (bans on
// it or its owner, its own rate limit), and one use only when it admits.
// Implemented above this layer by admission::Pipeline, the admission pbd's
// routes, /v1/auth and WebSocket sessions go through, so that keys.verify and
// they cannot disagree; the op reaches it through its Context.
class Verifier {
  public:
    virtual ~Verifier() = default;
    // keys.verify's answer for the text of `key`: {"valid":true,id,owner,…,
    // remaining} or {"valid":false,"reason"} (+ "retry_after_ms" when
    // rate_limited, with "limit" when a named limit refused). `costs`: what
    // to spend of the key's and its identity's named limits besides their
    // auto ones (nullptr: the auto ones at cost 1). Errors when the answer
    // cannot be had (unavailable), or invalid_argument for a name the key and
    // its identity do not carry or a cost above that limit's burst (nothing spent).
    virtual nlohmann::json verify(std::string_view key,
                                  const std::vector<LimitCost>* costs = nullptr) = 0;
};

}  // namespace pb::keys
