#include "common/limits/ban.hpp"

#include <algorithm>
#include <cctype>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/schema.hpp"

namespace pb::limits {
namespace {

using nlohmann::json;

[[noreturn]] void bad_target(std::string_view text, const std::string& why) {
    const std::string shown(text.substr(0, 80));
    throw Error(ErrorCode::invalid_argument, "target \"" + shown + "\": " + why,
                {{"param", "target"}});
}

std::string check_name(std::string_view text, std::string_view name) {
    if (name.empty() || name.size() > 200) {
        bad_target(text, "the name must be 1 to 200 characters");
    }
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7F) {
            bad_target(text, "control characters are not allowed");
        }
    }
    return std::string(name);
}

std::string check_key_id(std::string_view text, std::string_view id) {
    const bool ok =
        !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '_' || c == '-';
        });
    if (!ok) {
        bad_target(text, "a key id is 1 to 64 letters, digits, _ or -");
    }
    return std::string(id);
}

bool looks_like_address(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return std::isxdigit(c) || c == '.' || c == ':' || c == '/';
    });
}

BanTarget from_range(const IpRange& r) {
    return BanTarget{r.single() ? BanKind::ip : BanKind::range, to_string(r), r};
}

// parse_cidr(), its message prefixed with "target: ".
IpRange target_range(std::string_view text) {
    try {
        return parse_cidr(text);
    } catch (const Error& e) {
        throw Error(ErrorCode::invalid_argument, std::string("target: ") + e.what(),
                    {{"param", "target"}});
    }
}

}  // namespace

std::string_view to_string(BanKind kind) {
    switch (kind) {
        case BanKind::ip:
            return "ip";
        case BanKind::range:
            return "range";
        case BanKind::user:
            return "user";
        case BanKind::key:
            return "key";
    }
    return "ip";
}

std::optional<BanKind> ban_kind_from_string(std::string_view text) {
    for (auto k : {BanKind::ip, BanKind::range, BanKind::user, BanKind::key}) {
        if (to_string(k) == text) {
            return k;
        }
    }
    return std::nullopt;
}

std::string_view to_string(BanOrigin origin) {
    return origin == BanOrigin::auto_ban ? "auto" : "manual";
}

std::string BanTarget::text() const {
    switch (kind) {
        case BanKind::user:
            return "user:" + value;
        case BanKind::key:
            return "key:" + value;
        default:
            return value;
    }
}

BanTarget parse_target(std::string_view text) {
    if (text.starts_with("user:")) {
        return BanTarget{BanKind::user, check_name(text, text.substr(5)), std::nullopt};
    }
    if (text.starts_with("key:")) {
        return BanTarget{BanKind::key, check_key_id(text, text.substr(4)), std::nullopt};
    }
    if (text.starts_with("ip:")) {
        const auto r = target_range(text.substr(3));
        if (!r.single()) {
            bad_target(text, "ip: takes one address; write a range without the prefix");
        }
        return from_range(r);
    }
    if (text.starts_with("range:")) {
        return from_range(target_range(text.substr(6)));
    }
    if (!looks_like_address(text)) {
        bad_target(text, "expected an IPv4 or IPv6 address, a CIDR range, user:NAME or key:ID");
    }
    return from_range(target_range(text));
}

json Ban::schema() {
    using namespace ops::schema;
    return named("Ban",
                 object({{"id", integer()},
                         {"target", string("203.0.113.7, 10.0.0.0/8, user:NAME or key:ID")},
                         {"kind", choice({"ip", "range", "user", "key"})},
                         {"reason", string()},
                         {"origin", choice({"manual", "auto"})},
                         {"created_by", string()},
                         {"created_at", time()},
                         {"expires_at", nullable(time("null: until removed"))},
                         {"active", boolean()},
                         {"strikes", optional(integer("Automatic bans: how many in a row"))}}));
}

json Ban::to_json(UnixMillis now) const {
    json j{{"id", id},
           {"target", target.text()},
           {"kind", to_string(target.kind)},
           {"reason", reason},
           {"origin", to_string(origin)},
           {"created_by", created_by},
           {"created_at", format_rfc3339(created_at)},
           {"expires_at", time_or_null(expires_at)},
           {"active", active(now)}};
    if (origin == BanOrigin::auto_ban) {
        j["strikes"] = strikes;
    }
    return j;
}

void check_reason(std::string_view reason) {
    if (reason.size() > 500) {
        throw Error(ErrorCode::invalid_argument, "reason: at most 500 characters",
                    {{"param", "reason"}});
    }
    for (unsigned char c : reason) {
        if (c < 0x20 || c == 0x7F) {
            throw Error(ErrorCode::invalid_argument, "reason: control characters are not allowed",
                        {{"param", "reason"}});
        }
    }
}

}  // namespace pb::limits
