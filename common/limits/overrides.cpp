#include "common/limits/overrides.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/core/time_format.hpp"
#include "common/events/outbox.hpp"
#include "common/limits/ban.hpp"
#include "common/ops/schema.hpp"

namespace pb::limits {
namespace {

using nlohmann::json;
using store::Connection;

constexpr std::size_t k_max_value = 200;

[[noreturn]] void bad_target(const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "target: " + why,
                {{"param", "target"},
                 {"expected", "ip:ADDRESS, ip:CIDR, user:NAME, user:GLOB, key:ID or identity:ID"}});
}

std::optional<OverrideScope> override_scope_from(std::string_view text) {
    if (text == "ip") {
        return OverrideScope::ip;
    }
    if (text == "user") {
        return OverrideScope::user;
    }
    if (text == "key") {
        return OverrideScope::key;
    }
    if (text == "identity") {
        return OverrideScope::identity;
    }
    return std::nullopt;
}

Policy parse_override_rate(std::string_view text) {
    std::optional<Policy> p;
    try {
        p = parse_rate_limit(text, "rate");
    } catch (const Error& e) {
        throw Error(ErrorCode::invalid_argument, e.what(),
                    {{"param", "rate"}, {"expected", "N/unit or N/unit,BURST, e.g. 1000/min"}});
    }
    if (!p) {
        throw Error(ErrorCode::invalid_argument,
                    "rate: an override needs a rate (N/unit or N/unit,BURST, e.g. 1000/min)",
                    {{"param", "rate"}});
    }
    return *p;
}

std::string rate_text(const Policy& p) {
    return p.rate_text() + "," + std::to_string(p.burst);
}

// The columns override_from_row() reads, then `rest` (WHERE, ORDER BY).
std::string select_overrides(std::string_view rest) {
    std::string sql =
        "SELECT id, scope, value, kind, rate, shadow, reason, created_at, created_by "
        "FROM limit_overrides";
    sql.append(rest);
    return sql;
}

// A stored row; nullopt (logged) for one this version cannot read.
std::optional<Override> override_from_row(const store::Row& r) {
    try {
        Override o;
        o.id = r.get_int(0);
        o.target = parse_override_target(r.get_text(1) + ":" + r.get_text(2));
        o.policy = parse_override_rate(r.get_text(4));
        o.shadow = r.get_int(5) != 0;
        o.reason = r.get_text(6);
        o.created_at = r.get_int(7);
        o.created_by = r.get_text(8);
        return o;
    } catch (const Error& e) {
        log::get("limits")->warn("limit override {}:{} ignored: {}", r.get_text(1), r.get_text(2),
                                 e.what());
        return std::nullopt;
    }
}

std::size_t literal_prefix(std::string_view glob) {
    const auto n = glob.find_first_of("*?");
    return n == std::string_view::npos ? glob.size() : n;
}

AppliedPolicy applied(const Override& o) {
    return AppliedPolicy{o.policy, o.policy_name(), o.shadow};
}

}  // namespace

std::string_view to_string(OverrideScope scope) {
    switch (scope) {
        case OverrideScope::ip:
            return "ip";
        case OverrideScope::user:
            return "user";
        case OverrideScope::key:
            return "key";
        case OverrideScope::identity:
            return "identity";
    }
    return "ip";
}

std::string_view to_string(OverrideKind kind) {
    switch (kind) {
        case OverrideKind::exact:
            return "exact";
        case OverrideKind::cidr:
            return "cidr";
        case OverrideKind::glob:
            return "glob";
    }
    return "exact";
}

std::string OverrideTarget::text() const {
    return std::string(to_string(scope)) + ":" + value;
}

OverrideTarget parse_override_target(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        bad_target("\"" + std::string(text.substr(0, 40)) +
                   "\" names no scope: write SCOPE:VALUE (ip, user, key or identity)");
    }
    const auto scope = override_scope_from(text.substr(0, colon));
    if (!scope) {
        bad_target("unknown scope \"" +
                   std::string(text.substr(0, std::min<std::size_t>(colon, 40))) +
                   "\": expected ip, user, key or identity");
    }
    const auto value = text.substr(colon + 1);
    if (value.empty()) {
        bad_target("the value after \"" + std::string(to_string(*scope)) + ":\" is empty");
    }
    if (value.size() > k_max_value) {
        bad_target("at most 200 characters after the scope");
    }
    for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7F) {
            bad_target("control characters are not allowed");
        }
    }
    OverrideTarget t;
    t.scope = *scope;
    if (t.scope == OverrideScope::ip) {
        if (value.find_first_of("*?") != std::string_view::npos) {
            bad_target("an ip override takes an address or a CIDR range, not a glob");
        }
        IpRange range;
        try {
            range = parse_cidr(value);
        } catch (const Error& e) {
            bad_target(e.what());
        }
        t.kind = range.single() ? OverrideKind::exact : OverrideKind::cidr;
        t.value = to_string(range);
        t.range = range;
        return t;
    }
    t.kind = value.find_first_of("*?") == std::string_view::npos ? OverrideKind::exact
                                                                 : OverrideKind::glob;
    t.value = std::string(value);
    return t;
}

bool glob_match(std::string_view glob, std::string_view name) {
    // Iterative, with one backtrack point (the last `*`): linear enough for
    // 200-character names, no recursion.
    std::size_t g = 0;
    std::size_t n = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (n < name.size()) {
        if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
            ++g;
            ++n;
        } else if (g < glob.size() && glob[g] == '*') {
            star = g++;
            resume = n;
        } else if (star != std::string_view::npos) {
            g = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == '*') {
        ++g;
    }
    return g == glob.size();
}

json Override::to_json() const {
    return json{{"id", id},
                {"target", target.text()},
                {"scope", to_string(target.scope)},
                {"kind", to_string(target.kind)},
                {"rate", policy.rate_text()},
                {"burst", policy.burst},
                {"shadow", shadow},
                {"reason", reason},
                {"policy", policy_name()},
                {"created_at", format_rfc3339(created_at)},
                {"created_by", created_by}};
}

json Override::schema() {
    using namespace ops::schema;
    return named(
        "LimitOverride",
        object(
            {{"id", integer()},
             {"target", string("ip:203.0.113.0/24, ip:ADDRESS, user:acme-*, key:ID, identity:ID")},
             {"scope", choice({"ip", "user", "key", "identity"})},
             {"kind", choice({"exact", "cidr", "glob"})},
             {"rate", string("1000/min")},
             {"burst", integer()},
             {"shadow", boolean("Counts and reports, never refuses")},
             {"reason", string()},
             {"policy", string("The name decisions report: override:TARGET")},
             {"created_at", time()},
             {"created_by", string()}}));
}

OverrideIndex::OverrideIndex(std::vector<std::shared_ptr<const Override>> overrides)
    : m_all(std::move(overrides)) {
    std::vector<CidrIndex::Entry> entries;
    for (const auto& p : m_all) {
        const Override& o = *p;
        if (o.target.scope == OverrideScope::ip) {
            entries.push_back(
                CidrIndex::Entry{*o.target.range, static_cast<std::uint32_t>(m_addressed.size())});
            m_addressed.push_back(&o);
            continue;
        }
        auto& names = m_names[static_cast<std::size_t>(o.target.scope)];
        if (o.target.kind == OverrideKind::exact) {
            names.exact.emplace(o.target.value, &o);
        } else {
            names.globs[o.target.value.substr(0, literal_prefix(o.target.value))].push_back(&o);
        }
    }
    m_cidr = CidrIndex(std::move(entries));
    for (auto& names : m_names) {
        for (auto& [prefix, list] : names.globs) {
            std::sort(list.begin(), list.end(),
                      [](const Override* a, const Override* b) { return a->id > b->id; });
            names.prefix_lengths.push_back(prefix.size());
        }
        std::sort(names.prefix_lengths.begin(), names.prefix_lengths.end(), std::greater<>());
        // One probe per distinct length, however many globs share it.
        names.prefix_lengths.erase(
            std::unique(names.prefix_lengths.begin(), names.prefix_lengths.end()),
            names.prefix_lengths.end());
        if (!names.prefix_lengths.empty() && names.prefix_lengths.back() > 0) {
            names.start_length = names.prefix_lengths.back();
            for (const auto& [prefix, list] : names.globs) {
                names.starts.emplace(prefix.substr(0, names.start_length), true);
            }
        }
        names.fill_filter();
    }
}

namespace {

// A filter bit's number for `s`: its first and last 8 bytes and its length,
// mixed by one multiply. Cheaper than hash_id(); a crafted id that finds a
// set bit only costs the map probe the filter would have saved.
std::uint64_t filter_key(std::string_view s) {
    std::uint64_t head = 0;
    std::uint64_t tail = 0;
    if (s.size() >= 8) {
        std::memcpy(&head, s.data(), 8);
        std::memcpy(&tail, s.data() + s.size() - 8, 8);
    } else {
        std::memcpy(&head, s.data(), std::min<std::size_t>(s.size(), 4));
        if (s.size() > 4) {
            std::memcpy(&tail, s.data() + s.size() - 4, 4);
        }
    }
    const std::uint64_t x =
        (head ^ (tail << 29 | tail >> 35) ^ (s.size() * 0x9E37'79B9'7F4A'7C15ULL)) *
        0xBF58'476D'1CE4'E5B9ULL;
    return x ^ (x >> 31);
}

}  // namespace

void OverrideIndex::Names::fill_filter() {
    const auto entries = exact.size() + starts.size();
    if (entries == 0) {
        return;
    }
    std::uint64_t bits = 64;
    while (bits < entries * 16) {  // about one false positive in 16
        bits *= 2;
    }
    filter.assign(bits / 64, 0);
    filter_mask = bits - 1;
    const auto add = [&](std::string_view s) {
        const auto bit = filter_key(s) & filter_mask;
        filter[bit / 64] |= std::uint64_t{1} << (bit % 64);
    };
    for (const auto& [name, _] : exact) {
        add(name);
    }
    for (const auto& [start, _] : starts) {
        add(start);
    }
}

bool OverrideIndex::Names::may_hold(std::string_view s) const {
    if (filter.empty()) {
        return false;
    }
    const auto bit = filter_key(s) & filter_mask;
    return (filter[bit / 64] >> (bit % 64)) & 1U;
}

const Override* OverrideIndex::find_address(const IpAddress& address) const {
    if (m_addressed.empty()) {
        return nullptr;
    }
    const auto found = m_cidr.find(address, [](std::uint32_t) { return true; });
    return found ? m_addressed[*found] : nullptr;
}

const Override* OverrideIndex::find(OverrideScope scope, std::string_view id) const {
    if (scope == OverrideScope::ip) {
        const auto a = parse_ip(id);
        return a ? find_address(*a) : nullptr;
    }
    const auto& names = m_names[static_cast<std::size_t>(scope)];
    if (!names.exact.empty() && names.may_hold(id)) {
        if (const auto it = names.exact.find(id); it != names.exact.end()) {
            return it->second;
        }
    }
    if (names.globs.empty()) {
        return nullptr;
    }
    if (names.start_length > 0) {
        if (id.size() < names.start_length) {
            return nullptr;
        }
        const auto start = id.substr(0, names.start_length);
        if (!names.may_hold(start) || !names.starts.contains(start)) {
            return nullptr;
        }
    }
    for (const auto len : names.prefix_lengths) {
        if (len > id.size()) {
            continue;
        }
        const auto it = names.globs.find(id.substr(0, len));
        if (it == names.globs.end()) {
            continue;
        }
        for (const Override* o : it->second) {
            if (glob_match(o->target.value, id)) {
                return o;
            }
        }
    }
    return nullptr;
}

OverrideService::OverrideService(store::Store& store, const Clock& clock,
                                 events::Follower& follower)
    : m_store(store),
      m_clock(clock),
      m_follower(follower),
      m_followed(follower, "limit override index") {
    m_follower.on("limits", [this](const events::Event& e) {
        if (e.topic == "limits" && e.type.starts_with("limit_override.")) {
            m_followed.changed();
        }
    });
}

Override OverrideService::set(const NewOverride& request, std::string_view actor) {
    Override o;
    o.target = parse_override_target(request.target);
    o.policy = parse_override_rate(request.rate);
    o.shadow = request.shadow;
    check_reason(request.reason);
    o.reason = request.reason;
    o.created_by = std::string(actor);
    return m_store.transaction([&](Connection& c) {
        const auto now = m_clock.now();
        o.created_at = now;
        // Replaced, not updated: the new row is the newest (globs' tie-break).
        c.exec("DELETE FROM limit_overrides WHERE scope = $1 AND value = $2",
               {std::string(to_string(o.target.scope)), o.target.value});
        const auto rows = c.query(
            "INSERT INTO limit_overrides (scope, value, kind, rate, shadow, reason, created_at, "
            "created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            {std::string(to_string(o.target.scope)), o.target.value,
             std::string(to_string(o.target.kind)), rate_text(o.policy),
             std::int64_t{o.shadow ? 1 : 0}, o.reason, now, o.created_by});
        o.id = rows.at(0).get_int(0);
        events::append(c, "limits", "limit_override.set", o.to_json(), now);
        return o;
    });
}

Override OverrideService::remove(std::string_view text) {
    const auto target = parse_override_target(text);
    return m_store.transaction([&](Connection& c) {
        const auto rows = c.query(select_overrides(" WHERE scope = $1 AND value = $2"),
                                  {std::string(to_string(target.scope)), target.value});
        if (rows.empty()) {
            throw Error(ErrorCode::not_found, "no override for " + target.text(),
                        {{"target", target.text()}});
        }
        auto o = override_from_row(rows[0]);
        c.exec("DELETE FROM limit_overrides WHERE scope = $1 AND value = $2",
               {std::string(to_string(target.scope)), target.value});
        if (!o) {
            o = Override{.id = rows[0].get_int(0), .target = target};
        }
        events::append(c, "limits", "limit_override.removed", o->to_json(), m_clock.now());
        return *o;
    });
}

std::vector<Override> OverrideService::list() {
    const auto rows = m_store.transaction(
        [&](Connection& c) { return c.query(select_overrides("")); }, store::TxMode::read);
    std::vector<Override> out;
    for (const auto& r : rows) {
        if (auto o = override_from_row(r)) {
            out.push_back(std::move(*o));
        }
    }
    // By target text in byte order whatever the database's collation: the
    // order list pages rely on.
    std::sort(out.begin(), out.end(), [](const Override& a, const Override& b) {
        return a.target.text() < b.target.text();
    });
    return out;
}

void OverrideService::load() {
    const auto rows = m_store.transaction(
        [&](Connection& c) { return c.query(select_overrides("")); }, store::TxMode::read);
    std::vector<std::shared_ptr<const Override>> all;
    all.reserve(rows.size());
    for (const auto& r : rows) {
        if (auto o = override_from_row(r)) {
            all.push_back(std::make_shared<const Override>(std::move(*o)));
        }
    }
    auto index = std::make_shared<const OverrideIndex>(std::move(all));
    std::unique_lock lock(m_index_mutex);
    m_index = std::move(index);
}

void OverrideService::refresh() {
    // Overrides change rarely and are few: an update rebuilds the whole index.
    m_followed.refresh([this] { load(); }, [this] { load(); });
}

std::optional<AppliedPolicy> OverrideService::match_address(const IpAddress& address) {
    refresh();
    std::shared_lock lock(m_index_mutex);
    if (const Override* o = m_index->find_address(address)) {
        return applied(*o);
    }
    return std::nullopt;
}

std::optional<AppliedPolicy> OverrideService::match(OverrideScope scope, std::string_view id) {
    refresh();
    std::shared_lock lock(m_index_mutex);
    if (const Override* o = m_index->find(scope, id)) {
        return applied(*o);
    }
    return std::nullopt;
}

std::size_t OverrideService::size() {
    refresh();
    std::shared_lock lock(m_index_mutex);
    return m_index->size();
}

}  // namespace pb::limits
