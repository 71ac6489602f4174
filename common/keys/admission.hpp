#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/keys/service.hpp"
#include "common/limits/ban.hpp"
#include "common/limits/limiter.hpp"
#include "common/limits/service.hpp"

namespace pb::keys {

// The one admission of a credential, shared by keys.verify (pbctl on the
// database, HTTP, WebSocket), pbd's gate (its own routes, GET /v1/auth) and
// every op on a WebSocket, so that they cannot disagree. In this order:
//   1. the credential: malformed, unknown, revoked, expired (KeyService::check;
//      a token is verified by its own service before it gets here);
//   2. bans on the key, its owner or the token's subject (and on the client
//      address when it is known);
//   3. the key's own rate limit (or limits.key.rate), or limits.user.rate for
//      a token's subject;
//   4. one use of a key that counts them ("exhausted" when none is left).
// Nothing is spent on a credential refused at 1–3: no use, and no limit for
// one refused at 1 or 2.

// What admit() needs; every part must outlive the call.
struct AdmissionServices {
    KeyService& keys;
    limits::BanService& bans;
    limits::LimitService& limits;
    const Clock& clock;
};

// Whether the admission is a request (counted against the limit, spending a
// use) or a re-check of an admitted session (nothing spent).
enum class Count { yes, no };

// Exempt from the rate limit of step 3: only pbd's gate sets it, for a caller
// whose own address is on bans.allow. keys.verify never does: the limits of
// the key verified apply whoever asks.
enum class LimitExempt { no, yes };

struct AdmitOptions {
    // The address the credential is presented from, when known (pbd's gate):
    // its bans apply too. keys.verify does not know it.
    std::optional<limits::IpAddress> client;
    limits::LimitUse use = limits::LimitUse::decision;
    Count count = Count::yes;
    LimitExempt exempt = LimitExempt::no;
};

// Who presents itself, once its credential verified: an API key, or the
// subject a token vouches for.
struct Presenter {
    VerifyResult key;     // valid, with its record, for an API key
    std::string subject;  // a token's sub, when `key` holds no record
};

// The verdict: a value, not an error ("no" is a normal answer).
struct Admission {
    bool admitted = false;
    // malformed, unknown, revoked, expired, exhausted, banned, rate_limited
    // (for a key; a token's own refusals are its service's).
    std::string reason;
    std::shared_ptr<const KeyRecord> key;    // the key, when it verified
    std::optional<std::int64_t> remaining;   // uses left after this one (counted keys)
    std::optional<UnixMillis> valid_until;   // when the credential stops verifying by itself
    std::shared_ptr<const limits::Ban> ban;  // why "banned"
    // The limit decision of step 3 (limit 0 when none applied).
    limits::LimitResult limit;
    // True when the limit counted was the user scope's (a token's subject).
    bool user_limit = false;

    // keys.verify's answer: {"valid":true,id,owner,…,remaining} or
    // {"valid":false,"reason"} (+ "retry_after_ms" when rate_limited).
    nlohmann::json to_json(UnixMillis now) const;
};

// Steps 1–4 for the text of an API key.
Admission admit_key(const AdmissionServices& s, std::string_view key, const AdmitOptions& options);
// Steps 2–4 for a verified presenter.
Admission admit(const AdmissionServices& s, Presenter who, const AdmitOptions& options);

}  // namespace pb::keys
