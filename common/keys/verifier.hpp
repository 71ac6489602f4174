#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

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
    // rate_limited). Errors only when the answer cannot be had (unavailable).
    virtual nlohmann::json verify(std::string_view key) = 0;
};

}  // namespace pb::keys
