#include "common/keys/admission.hpp"

#include "common/limits/ban_service.hpp"
#include "common/limits/policy.hpp"

namespace pb::keys {

using nlohmann::json;

json Admission::to_json(UnixMillis now) const {
    if (!admitted) {
        json j{{"valid", false}, {"reason", reason}};
        if (reason == "rate_limited") {
            j["retry_after_ms"] = limit.retry_after_ms;
        }
        return j;
    }
    VerifyResult v;
    v.valid = true;
    v.key = key;
    v.remaining = remaining;
    return v.to_json(now);
}

Admission admit_key(const AdmissionServices& s, std::string_view key, const AdmitOptions& options) {
    auto checked = s.keys.check(key);
    if (!checked.valid) {
        // A key that does not verify is not probed for bans or limits.
        Admission out;
        out.reason = checked.reason;
        return out;
    }
    return admit(s, Presenter{std::move(checked), {}}, options);
}

Admission admit(const AdmissionServices& s, Presenter who, const AdmitOptions& options) {
    Admission out;
    out.key = who.key.key;
    out.valid_until = who.key.valid_until;
    const bool is_key = out.key != nullptr;
    const std::string_view user = is_key ? std::string_view(out.key->owner) : who.subject;
    const std::string_view key_id = is_key ? std::string_view(out.key->id) : std::string_view();

    if (auto ban =
            s.bans.match_caller({.address = options.client, .user = user, .key_id = key_id})) {
        out.reason = "banned";
        out.ban = std::move(ban);
        return out;
    }
    if (options.count == Count::yes && options.exempt == LimitExempt::no) {
        if (is_key) {
            // The key's own limit was checked when it was stored; parsing is cheap.
            const auto own = out.key->rate_limit
                                 ? limits::parse_rate_limit(*out.key->rate_limit, "rate_limit")
                                 : std::nullopt;
            out.limit = s.limits.check(limits::Scope::key, out.key->id, 1, own, options.use);
        } else if (!user.empty()) {
            out.user_limit = true;
            out.limit =
                s.limits.check(limits::Scope::user, limits::canonical_id(limits::Scope::user, user),
                               1, std::nullopt, options.use);
        }
        if (!out.limit.allowed) {
            out.reason = "rate_limited";
            return out;
        }
    }
    if (is_key && options.count == Count::yes) {
        if (!s.keys.spend(who.key)) {
            out.reason = who.key.reason;
            return out;
        }
        out.remaining = who.key.remaining;
    }
    out.admitted = true;
    return out;
}

}  // namespace pb::keys
