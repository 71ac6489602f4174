#include "common/limits/ban_service.hpp"

#include <limits>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/events/outbox.hpp"
#include "common/limits/ban_rows.hpp"
#include "common/store/keyset.hpp"

// BanService's writes; the index and lookups are in ban_index.cpp.
namespace pb::limits {
namespace {

using detail::ban_from_row;
using detail::load_ban;
using detail::select_bans;
using store::Connection;
using store::nullable;

void publish(Connection& c, const Ban& b, std::string_view type, UnixMillis now) {
    events::append(c, "bans", type, b.to_json(now), now);
}

}  // namespace

std::optional<IpRange> BanService::allow_listed_overlap(const BanTarget& target) const {
    if (!target.range) {
        return std::nullopt;
    }
    for (const auto& r : m_settings->allow) {
        if (r.family == target.range->family && r.first <= target.range->last &&
            target.range->first <= r.last) {
            return r;
        }
    }
    return std::nullopt;
}

void BanService::check_allow_list(const BanTarget& target, AllowListGuard guard) const {
    if (guard == AllowListGuard::force) {
        return;
    }
    if (const auto allowed = allow_listed_overlap(target)) {
        throw Error(ErrorCode::conflict,
                    "a ban on " + target.text() + " would cover " + to_string(*allowed) +
                        " of bans.allow (the operator's own addresses and proxies) and lock "
                        "them out of pbd; ban a narrower range, or pass force (pbctl bans add "
                        "--force) to ban it anyway (loopback keeps /health, /ready and /metrics)",
                    {{"target", target.text()}, {"allow", to_string(*allowed)}});
    }
}

Ban BanService::upsert(Connection& c, Ban b) {
    const auto rows = c.query(
        "INSERT INTO bans (kind, value, reason, origin, created_by, created_at, expires_at, "
        "strikes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, value) DO UPDATE SET "
        "reason = excluded.reason, origin = excluded.origin, created_by = excluded.created_by, "
        "created_at = excluded.created_at, expires_at = excluded.expires_at, strikes = "
        "excluded.strikes RETURNING id",
        {std::string(to_string(b.target.kind)), b.target.value, b.reason,
         std::string(to_string(b.origin)), b.created_by, b.created_at, nullable(b.expires_at),
         b.strikes});
    b.id = rows.front().get_int(0);
    publish(c, b, "ban.added", b.created_at);
    return b;
}

Ban BanService::add(const NewBan& request, std::string_view actor) {
    Ban b;
    b.target = parse_target(request.target);
    check_reason(request.reason);
    check_allow_list(b.target, request.guard);
    const auto now = m_clock.now();
    if (request.duration_ms) {
        const auto until = instant_after(now, *request.duration_ms);
        if (*request.duration_ms <= 0 || !until) {
            throw Error(ErrorCode::invalid_argument,
                        "for: a duration from 1ms to " + std::string(k_max_duration_text) +
                            " (leave it out for a permanent ban)",
                        {{"param", "for"}});
        }
        b.expires_at = *until;
    }
    b.reason = request.reason;
    b.created_by = std::string(actor);
    b.created_at = now;
    return m_store.transaction([&](Connection& c) {
        c.exec("DELETE FROM bans WHERE expires_at IS NOT NULL AND expires_at < $1",
               {now - m_settings->retention_ms});
        return upsert(c, b);
    });
}

std::optional<Ban> BanService::auto_ban(const BanTarget& target, std::string_view reason) {
    if (target.range && target.kind == BanKind::ip &&
        allow_listed(IpAddress{target.range->family, target.range->first})) {
        return std::nullopt;
    }
    if (target.kind == BanKind::range && allow_listed_overlap(target)) {
        return std::nullopt;  // the range would cover an allowed address
    }
    const auto now = m_clock.now();
    return m_store.transaction([&](Connection& c) -> std::optional<Ban> {
        const auto existing = load_ban(c, target);
        if (existing && existing->active(now)) {
            return std::nullopt;
        }
        Ban b;
        b.target = target;
        b.reason = std::string(reason);
        b.origin = BanOrigin::auto_ban;
        b.created_by = "pb:auto";
        b.created_at = now;
        b.strikes = existing && existing->origin == BanOrigin::auto_ban ? existing->strikes + 1 : 1;
        const auto& settings = m_settings.get();
        const std::int64_t factor = std::max<std::int64_t>(1, settings.auto_factor);
        std::int64_t duration = settings.auto_duration_ms;
        for (std::int64_t i = 1; i < b.strikes && duration < settings.auto_max_ms; ++i) {
            duration =
                duration > settings.auto_max_ms / factor ? settings.auto_max_ms : duration * factor;
        }
        b.expires_at = now + std::min(duration, settings.auto_max_ms);
        return upsert(c, std::move(b));
    });
}

Ban BanService::remove(std::string_view text) {
    const auto target = parse_target(text);
    const auto now = m_clock.now();
    return m_store.transaction([&](Connection& c) {
        auto b = load_ban(c, target);
        if (!b) {
            throw Error(ErrorCode::not_found, "no ban on " + target.text(),
                        {{"target", target.text()}});
        }
        c.exec("DELETE FROM bans WHERE id = $1", {b->id});
        publish(c, *b, "ban.removed", now);
        return *b;
    });
}

std::vector<Ban> BanService::list(const BanFilter& filter) {
    const auto now = m_clock.now();
    store::Params params;
    std::string where = "1 = 1";
    if (filter.kind) {
        params.emplace_back(std::string(to_string(*filter.kind)));
        where += " AND kind = $" + std::to_string(params.size());
    }
    if (!filter.include_expired) {
        params.emplace_back(now);
        where += " AND (expires_at IS NULL OR expires_at > $" + std::to_string(params.size()) + ")";
    }
    if (filter.after) {
        where +=
            " AND " + store::after_position(params, filter.after->created_at, filter.after->id);
    }
    params.emplace_back(filter.limit);
    where += " ORDER BY created_at, id LIMIT $" + std::to_string(params.size());
    const auto rows = m_store.transaction(
        [&](Connection& c) { return c.query(select_bans(where), params); }, store::TxMode::read);
    std::vector<Ban> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(ban_from_row(r));
    }
    return out;
}

std::vector<Ban> BanService::all_active() {
    return list(BanFilter{.kind = std::nullopt,
                          .include_expired = false,
                          .limit = std::numeric_limits<std::int64_t>::max()});
}

ImportResult BanService::import(const std::vector<ImportRow>& rows, std::string_view actor,
                                AllowListGuard guard) {
    for (const auto& row : rows) {
        check_allow_list(row.target, guard);
    }
    const auto now = m_clock.now();
    ImportResult result;
    m_store.transaction([&](Connection& c) {
        for (const auto& row : rows) {
            if (row.expires_at && *row.expires_at <= now) {
                ++result.skipped_expired;
                continue;
            }
            Ban b;
            b.target = row.target;
            b.reason = row.reason;
            b.origin = row.origin;
            b.created_by = std::string(actor);
            b.created_at = now;
            b.expires_at = row.expires_at;
            upsert(c, std::move(b));
            ++result.imported;
        }
    });
    return result;
}

std::int64_t BanService::purge_expired() {
    const auto cutoff = m_clock.now() - m_settings->retention_ms;
    return m_store.transaction([&](Connection& c) {
        return c.exec("DELETE FROM bans WHERE expires_at IS NOT NULL AND expires_at < $1",
                      {cutoff});
    });
}

}  // namespace pb::limits
