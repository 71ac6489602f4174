#include "common/keys/identity_service.hpp"

#include "common/core/error.hpp"
#include "common/events/outbox.hpp"
#include "common/keys/service.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;
using store::Connection;

void check_metadata(const json& metadata) {
    if (!metadata.is_object() || metadata.dump().size() > 16384) {
        throw Error(ErrorCode::invalid_argument, "metadata: expected a JSON object under 16 KiB",
                    {{"param", "metadata"}});
    }
}

void check_remaining(const std::optional<std::int64_t>& remaining) {
    if (remaining && *remaining < 0) {
        throw Error(ErrorCode::invalid_argument, "remaining: must not be negative",
                    {{"param", "remaining"}});
    }
}

void publish(Connection& c, const IdentityRecord& r, std::string_view type, UnixMillis now) {
    events::append(c, "identities/" + r.id, type, {{"id", r.id}}, now);
}

}  // namespace

IdentityService::IdentityService(store::Store& store, const Clock& clock, KeyService& keys)
    : m_store(store), m_clock(clock), m_keys(keys) {}

IdentityRecord IdentityService::create(const NewIdentity& request, std::string_view actor) {
    const auto now = m_clock.now();
    check_identity_id(request.id);
    check_metadata(request.metadata);
    check_remaining(request.remaining);
    IdentityRecord r;
    r.id = request.id;
    r.metadata = request.metadata;
    r.limits = parse_named_limits(request.limits, "limits");
    r.refill = request.refill ? parse_refill(*request.refill, "refill") : std::nullopt;
    // A refill with no count to start from starts full; the first refill
    // comes with the next period.
    r.remaining = request.remaining ? request.remaining
                                    : (r.refill ? std::optional(r.refill->amount) : std::nullopt);
    r.last_refill_at = r.refill ? std::optional(now) : std::nullopt;
    r.created_at = r.updated_at = now;
    r.created_by = std::string(actor);
    m_store.transaction([&](Connection& c) {
        if (identity_rows::load(c, r.id)) {
            throw Error(ErrorCode::conflict, "identity \"" + r.id + "\" exists",
                        {{"identity", r.id}});
        }
        identity_rows::insert(c, r);
        publish(c, r, "identity.created", now);
    });
    m_keys.forget_identity(r.id);
    return r;
}

IdentityRecord IdentityService::get(std::string_view id) {
    return m_store.transaction([&](Connection& c) { return identity_rows::load_or_throw(c, id); },
                               store::TxMode::read);
}

std::vector<IdentityRecord> IdentityService::list(const std::optional<std::string>& after_id,
                                                  std::int64_t limit) {
    return m_store.transaction(
        [&](Connection& c) { return identity_rows::page(c, after_id, limit); },
        store::TxMode::read);
}

IdentityRecord IdentityService::update(std::string_view id, const IdentityPatch& patch) {
    const auto now = m_clock.now();
    if (patch.metadata) {
        check_metadata(*patch.metadata);
    }
    std::optional<std::vector<NamedLimit>> limits;
    if (patch.limits) {
        limits = parse_named_limits(*patch.limits, "limits");
    }
    if (patch.remaining) {
        check_remaining(*patch.remaining);
    }
    std::optional<std::optional<Refill>> refill;
    if (patch.refill) {
        refill = parse_refill(*patch.refill, "refill");
    }
    auto updated = m_store.transaction([&](Connection& c) {
        auto r = identity_rows::load_or_throw(c, id);
        if (patch.metadata)
            r.metadata = *patch.metadata;
        if (limits)
            r.limits = *limits;
        if (patch.remaining)
            r.remaining = *patch.remaining;
        if (refill) {
            r.refill = *refill;
            // A new refill counts its periods from now.
            r.last_refill_at = r.refill ? std::optional(now) : std::nullopt;
        }
        r.updated_at = now;
        identity_rows::update(c, r);
        publish(c, r, "identity.updated", now);
        return r;
    });
    m_keys.forget_identity(id);
    return updated;
}

RemovedIdentity IdentityService::remove(std::string_view id, bool force) {
    const auto now = m_clock.now();
    auto removed = m_store.transaction([&](Connection& c) {
        const auto r = identity_rows::load_or_throw(c, id);
        const auto held =
            c.query("SELECT COUNT(*) FROM api_keys WHERE identity_id = $1", {std::string(id)})
                .front()
                .get_int(0);
        RemovedIdentity out{r.id, {}};
        if (held > 0) {
            if (!force) {
                throw Error(ErrorCode::conflict,
                            "identity \"" + r.id + "\" has " + std::to_string(held) +
                                " key(s): delete with force to revoke them with it",
                            {{"identity", r.id}, {"keys", held}});
            }
            out.revoked_keys = m_keys.revoke_keys_of(c, r.id);
        }
        identity_rows::remove(c, r.id);
        publish(c, r, "identity.deleted", now);
        return out;
    });
    m_keys.forget_identity(id);
    return removed;
}

}  // namespace pb::keys
