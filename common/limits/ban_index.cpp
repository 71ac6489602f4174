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

// How long checks use the last index after the store failed to refresh it.
constexpr std::chrono::seconds k_retry_delay{1};
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
    : m_store(store), m_clock(clock), m_settings(std::move(settings)), m_follower(follower) {
    follow();
}

BanService::BanService(store::Store& store, const Clock& clock, BanSettings settings)
    : m_store(store),
      m_clock(clock),
      m_settings(std::move(settings)),
      m_own_follower(std::make_unique<events::Follower>(store)),
      m_follower(*m_own_follower) {
    follow();
}

void BanService::follow() {
    m_follower.on("bans", [this](const events::Event& e) { on_event(e); });
}

void BanService::on_event(const events::Event& e) {
    if (e.topic != "bans") {
        return;
    }
    std::lock_guard lock(m_pending_mutex);
    if (e.data.is_object() && e.data.contains("target") && e.data["target"].is_string()) {
        m_pending.insert(e.data["target"].get<std::string>());
    } else {
        m_pending_everything = true;
    }
    m_pending_gen.fetch_add(1, std::memory_order_release);
}

void BanService::refresh() {
    if (!m_loaded.load(std::memory_order_acquire)) {
        std::lock_guard lock(m_refresh_mutex);
        if (!m_loaded.load(std::memory_order_acquire)) {
            // Everything delivered so far is older than the load that follows.
            m_follower.catch_up();
            std::uint64_t gen = 0;
            {
                std::lock_guard pending(m_pending_mutex);
                m_pending.clear();
                m_pending_everything = false;
                gen = m_pending_gen.load(std::memory_order_acquire);
            }
            full_load();
            m_applied_gen.store(gen, std::memory_order_release);
            m_loaded.store(true, std::memory_order_release);
        }
    }
    // After a failure, requests are answered from the last index for a while
    // instead of each waiting on a store that is down.
    const auto steady_now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (steady_now < m_retry_at.load(std::memory_order_relaxed)) {
        return;
    }
    try {
        m_follower.catch_up();
        if (m_pending_gen.load(std::memory_order_acquire) ==
            m_applied_gen.load(std::memory_order_acquire)) {
            return;
        }
        std::lock_guard lock(m_refresh_mutex);
        std::set<std::string> targets;
        bool everything = false;
        std::uint64_t gen = 0;
        {
            std::lock_guard pending(m_pending_mutex);
            gen = m_pending_gen.load(std::memory_order_acquire);
            if (gen == m_applied_gen.load(std::memory_order_acquire)) {
                return;  // another thread applied it while this one waited
            }
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
        m_applied_gen.store(gen, std::memory_order_release);
        if (m_refresh_failed) {
            log::get("limits")->info("ban index is up to date again");
            m_refresh_failed = false;
        }
    } catch (const std::exception& e) {
        m_retry_at.store(steady_now + std::chrono::steady_clock::duration(k_retry_delay).count(),
                         std::memory_order_relaxed);
        std::lock_guard lock(m_refresh_mutex);
        if (!m_refresh_failed) {
            log::get("limits")->warn("ban index not refreshed, checking against the last one: {}",
                                     e.what());
            m_refresh_failed = true;
        }
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
