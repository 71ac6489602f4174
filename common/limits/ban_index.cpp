// BanService's in-memory index: loading, following the outbox, lookups. Its
// writes are in ban_service.cpp.
#include <chrono>
#include <limits>
#include <unordered_map>
#include <utility>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/limits/ban_rows.hpp"
#include "common/limits/ban_service.hpp"

namespace pb::limits {
namespace {

using detail::ban_from_row;
using detail::load_ban;
using detail::select_bans;
using store::Connection;

// Beyond this many changed targets in one refresh, reloading everything is cheaper.
constexpr std::size_t k_max_targeted_reloads = 100;

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
using NameMap =
    std::unordered_map<std::string, std::shared_ptr<const Ban>, StringHash, std::equal_to<>>;

}  // namespace

// An immutable view of the bans in force, shared by every reader.
struct BanService::Snapshot {
    std::vector<std::shared_ptr<const Ban>> addressed;  // ip and range bans; CidrIndex payloads
    std::vector<UnixMillis> addressed_until;            // their expiry, side by side (no deref)
    CidrIndex cidr;
    NameMap users;
    NameMap keys;
};

BanService::BanService(store::Store& store, const Clock& clock, events::Follower& follower,
                       BanSettings settings)
    : m_store(store),
      m_clock(clock),
      m_settings(std::move(settings)),
      m_follower(follower),
      m_followed(m_follower, "ban index") {
    follow();
}

BanService::BanService(store::Store& store, const Clock& clock, BanSettings settings)
    : m_store(store),
      m_clock(clock),
      m_settings(std::move(settings)),
      m_own_follower(std::make_unique<events::Follower>(store)),
      m_follower(*m_own_follower),
      m_followed(m_follower, "ban index") {
    follow();
}

void BanService::follow() {
    m_follower.on("bans", [this](const events::Event& e) { on_event(e); });
}

void BanService::on_event(const events::Event& e) {
    if (e.topic != "bans") {
        return;
    }
    {
        std::lock_guard lock(m_pending_mutex);
        if (e.data.is_object() && e.data.contains("target") && e.data["target"].is_string()) {
            m_pending.insert(e.data["target"].get<std::string>());
        } else {
            m_pending_everything = true;
        }
    }
    m_followed.changed();
}

void BanService::refresh() {
    m_followed.refresh(
        [this] {
            {
                // Everything noted so far is older than the load that follows.
                std::lock_guard pending(m_pending_mutex);
                m_pending.clear();
                m_pending_everything = false;
            }
            full_load();
        },
        [this] { apply_pending(); });
}

void BanService::apply_pending() {
    std::set<std::string> targets;
    bool everything = false;
    {
        std::lock_guard pending(m_pending_mutex);
        targets.swap(m_pending);
        everything = std::exchange(m_pending_everything, false);
    }
    try {
        if (everything || targets.size() > k_max_targeted_reloads) {
            full_load();
        } else {
            reload(targets);
        }
    } catch (...) {
        // Not applied: keep the targets for the next attempt.
        std::lock_guard pending(m_pending_mutex);
        m_pending.merge(targets);
        m_pending_everything = m_pending_everything || everything;
        throw;
    }
}

void BanService::full_load() {
    const auto now = m_clock.now();
    const auto rows = m_store.transaction(
        [&](Connection& c) {
            return c.query(select_bans("expires_at IS NULL OR expires_at > $1"), {now});
        },
        store::TxMode::read);
    m_bans.clear();
    for (const auto& r : rows) {
        auto b = std::make_shared<const Ban>(ban_from_row(r));
        m_bans[b->target.text()] = std::move(b);
    }
    rebuild();
}

void BanService::reload(const std::set<std::string>& targets) {
    // Each changed target is read back as it is now (a later change wins).
    m_store.transaction(
        [&](Connection& c) {
            for (const auto& text : targets) {
                std::optional<Ban> b;
                try {
                    b = load_ban(c, parse_target(text));
                } catch (const Error&) {
                    continue;  // not a target this version understands
                }
                if (b) {
                    m_bans[text] = std::make_shared<const Ban>(std::move(*b));
                } else {
                    m_bans.erase(text);
                }
            }
        },
        store::TxMode::read);
    rebuild();
}

void BanService::rebuild() {
    const auto now = m_clock.now();
    auto snap = std::make_shared<Snapshot>();
    std::vector<CidrIndex::Entry> entries;
    for (auto it = m_bans.begin(); it != m_bans.end();) {
        const auto& b = it->second;
        if (!b->active(now)) {
            it = m_bans.erase(it);
            continue;
        }
        switch (b->target.kind) {
            case BanKind::ip:
            case BanKind::range:
                entries.push_back(CidrIndex::Entry{
                    *b->target.range, static_cast<std::uint32_t>(snap->addressed.size())});
                snap->addressed.push_back(b);
                snap->addressed_until.push_back(
                    b->expires_at.value_or(std::numeric_limits<UnixMillis>::max()));
                break;
            case BanKind::user:
                snap->users.emplace(b->target.value, b);
                break;
            case BanKind::key:
                snap->keys.emplace(b->target.value, b);
                break;
        }
        ++it;
    }
    snap->cidr = CidrIndex(std::move(entries));
    std::unique_lock lock(m_snapshot_mutex);
    m_snapshot = std::move(snap);
}

BanService::SnapshotView BanService::read_snapshot() {
    refresh();
    std::shared_lock lock(m_snapshot_mutex);
    const Snapshot* snap = m_snapshot.get();
    return {std::move(lock), snap};
}

// The lambdas below take `snap` by init-capture: clang 14 (the fuzz build)
// cannot capture a structured binding.
std::shared_ptr<const Ban> BanService::match_address(const IpAddress& address) {
    const auto [lock, snap] = read_snapshot();
    const auto now = m_clock.now();
    const auto found = snap->cidr.find(
        address, [&, s = snap](std::uint32_t i) { return s->addressed_until[i] > now; });
    return found ? snap->addressed[*found] : nullptr;
}

std::shared_ptr<const Ban> BanService::match_user(std::string_view user) {
    const auto [lock, snap] = read_snapshot();
    const auto it = snap->users.find(user);
    return it != snap->users.end() && it->second->active(m_clock.now()) ? it->second : nullptr;
}

std::shared_ptr<const Ban> BanService::match_key(std::string_view key_id) {
    const auto [lock, snap] = read_snapshot();
    const auto it = snap->keys.find(key_id);
    return it != snap->keys.end() && it->second->active(m_clock.now()) ? it->second : nullptr;
}

std::shared_ptr<const Ban> BanService::match_caller(const CallerIdentity& caller) {
    const auto [lock, snap] = read_snapshot();
    const auto now = m_clock.now();
    if (caller.address) {
        const auto found = snap->cidr.find(*caller.address, [&, s = snap](std::uint32_t i) {
            return s->addressed_until[i] > now;
        });
        if (found) {
            return snap->addressed[*found];
        }
    }
    for (const auto& [map, name] :
         {std::pair{&snap->keys, caller.key_id}, std::pair{&snap->users, caller.user}}) {
        if (name.empty()) {
            continue;
        }
        if (const auto it = map->find(name); it != map->end() && it->second->active(now)) {
            return it->second;
        }
    }
    return nullptr;
}

std::shared_ptr<const Ban> BanService::check(std::string_view text) {
    const auto target = parse_target(text);
    switch (target.kind) {
        case BanKind::ip:
            return match_address(IpAddress{target.range->family, target.range->first});
        case BanKind::range: {
            const auto [lock, snap] = read_snapshot();
            const auto now = m_clock.now();
            const auto found = snap->cidr.find_covering(
                *target.range,
                [&, s = snap](std::uint32_t i) { return s->addressed_until[i] > now; });
            return found ? snap->addressed[*found] : nullptr;
        }
        case BanKind::user:
            return match_user(target.value);
        case BanKind::key:
            return match_key(target.value);
    }
    return nullptr;
}

bool BanService::allow_listed(const IpAddress& address) const {
    for (const auto& r : m_settings->allow) {
        if (r.contains(address)) {
            return true;
        }
    }
    return false;
}

}  // namespace pb::limits
