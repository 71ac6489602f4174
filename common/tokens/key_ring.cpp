#include "common/tokens/key_ring.hpp"

#include <openssl/crypto.h>

#include "common/core/crypto.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"
#include "common/events/followed_snapshot.hpp"
#include "common/events/outbox.hpp"
#include "common/ops/schema.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using store::Connection;

constexpr std::string_view k_topic = "tokens/keys";

std::string seal_context(std::string_view kid) {
    return "pb.signing_key." + std::string(kid);
}

}  // namespace

json RingKey::to_json() const {
    return {{"kid", kid},
            {"alg", to_string(key->alg())},
            {"status", status},
            {"origin", origin},
            {"can_sign", key->can_sign() && status == "active"},
            {"created_at", format_rfc3339(created_at)},
            {"retired_at", time_or_null(retired_at)}};
}

KeyRing::KeyRing(store::Store& store, const Clock& clock, events::Follower& follower,
                 std::function<const SecretBox&()> open_box, std::optional<JoseKey> config_hmac)
    : m_store(store),
      m_clock(clock),
      m_follower(follower),
      m_open_box(std::move(open_box)),
      m_config_hmac(std::move(config_hmac)) {
    m_follower.on(std::string(k_topic), [this](const events::Event&) {
        std::unique_lock lock(m_mutex);
        m_map.reset();  // reloaded on next use
    });
}

void KeyRing::reload() {
    const auto rows = m_store.transaction(
        [](Connection& c) {
            return c.query(
                "SELECT kid, alg, status, origin, public_jwk, private_sealed, created_at, "
                "retired_at FROM signing_keys ORDER BY created_at, kid");
        },
        store::TxMode::read);
    auto map = std::make_shared<Map>();
    if (m_config_hmac) {
        auto k = std::make_shared<RingKey>();
        k->kid = "config";
        k->status = "active";
        k->origin = "config";
        k->key = std::make_shared<const JoseKey>(*m_config_hmac);
        (*map)[k->kid] = k;
    }
    for (const auto& r : rows) {
        auto k = std::make_shared<RingKey>();
        k->kid = r.get_text(0);
        const auto alg = alg_from_string(r.get_text(1));
        if (!alg) {
            continue;
        }
        k->status = r.get_text(2);
        k->origin = r.get_text(3);
        k->created_at = r.get_int(6);
        k->retired_at = r.get_opt_int(7);
        if (auto sealed = r.get_opt_text(5); sealed && k->status != "retired") {
            auto material = m_open_box().open_sealed(*sealed, seal_context(k->kid));
            k->key =
                std::make_shared<const JoseKey>(JoseKey::from_private_material(*alg, material));
            OPENSSL_cleanse(material.data(), material.size());
        } else if (auto pub = r.get_opt_text(4)) {
            k->key = std::make_shared<const JoseKey>(JoseKey::from_jwk(
                parse_json(*pub, "stored public key", {k_max_stored_json_depth}), *alg));
        } else {
            continue;  // a retired HMAC key: nothing left to verify with
        }
        (*map)[k->kid] = k;
    }
    std::unique_lock lock(m_mutex);
    m_map = std::move(map);
}

std::shared_ptr<const KeyRing::Map> KeyRing::snapshot() {
    return events::followed_snapshot(m_follower, m_mutex, m_map, [this] { reload(); });
}

std::shared_ptr<const RingKey> KeyRing::find(std::string_view kid) {
    const auto map = snapshot();
    auto it = map->find(kid);
    if (it == map->end() || it->second->status == "retired") {
        return nullptr;
    }
    return it->second;
}

std::vector<std::shared_ptr<const RingKey>> KeyRing::for_alg(Alg alg) {
    std::vector<std::shared_ptr<const RingKey>> out;
    for (const auto& [kid, k] : *snapshot()) {
        if (k->status != "retired" && k->key->alg() == alg) {
            out.push_back(k);
        }
    }
    return out;
}

std::vector<std::shared_ptr<const RingKey>> KeyRing::list() {
    std::vector<std::shared_ptr<const RingKey>> out;
    for (const auto& [kid, k] : *snapshot()) {
        out.push_back(k);
    }
    return out;
}

std::shared_ptr<const RingKey> KeyRing::insert(const JoseKey& key, std::string kid,
                                               std::string status, std::string origin,
                                               std::string_view actor, bool demote_others) {
    const auto now = m_clock.now();
    std::optional<std::string> sealed;
    if (key.can_sign()) {
        auto material = key.private_material();
        sealed = m_open_box().seal(material, seal_context(kid));
        OPENSSL_cleanse(material.data(), material.size());
    }
    std::optional<std::string> pub;
    if (!is_hmac(key.alg())) {
        pub = key.public_jwk(kid).dump();
    }
    // Serializable: demote-then-insert must not leave two active keys of an alg.
    const auto write = [&](Connection& c) {
        if (demote_others) {
            c.exec("UPDATE signing_keys SET status = 'verify' WHERE alg = $1 AND status = 'active'",
                   {std::string(to_string(key.alg()))});
        }
        c.exec(
            "INSERT INTO signing_keys (kid, alg, status, origin, public_jwk, private_sealed, "
            "created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            {kid, std::string(to_string(key.alg())), status, origin, store::nullable(pub),
             store::nullable(sealed), now, std::string(actor)});
        events::append(c, k_topic, "signing_key.added",
                       {{"kid", kid}, {"alg", to_string(key.alg())}, {"status", status}}, now);
    };
    m_store.transaction(write, store::TxMode::serializable);
    {
        std::unique_lock lock(m_mutex);
        m_map.reset();
    }
    return find(kid);
}

std::shared_ptr<const RingKey> KeyRing::signer(Alg alg, const std::optional<std::string>& kid,
                                               std::string_view actor) {
    if (kid) {
        auto k = find(*kid);
        if (!k) {
            throw Error(ErrorCode::not_found, "no usable signing key \"" + *kid + "\"",
                        {{"kid", *kid}});
        }
        if (k->status != "active" || !k->key->can_sign() || k->key->alg() != alg) {
            throw Error(ErrorCode::invalid_argument,
                        "key " + *kid + " cannot sign " + std::string(to_string(alg)),
                        {{"kid", *kid}});
        }
        return k;
    }
    const auto published_before = m_clock.now() - k_publish_ahead_ms;
    const auto pick = [&]() -> std::shared_ptr<const RingKey> {
        std::shared_ptr<const RingKey> newest;     // the newest active key
        std::shared_ptr<const RingKey> published;  // the newest one every JWKS cache holds
        std::shared_ptr<const RingKey> oldest;     // the one that signed before the others came
        for (const auto& [id, k] : *snapshot()) {
            // A verify key that can sign was active once: rotated out.
            if (k->status == "retired" || k->key->alg() != alg || !k->key->can_sign()) {
                continue;
            }
            if (k->status == "active" && (!newest || k->created_at >= newest->created_at)) {
                newest = k;
            }
            if (k->created_at <= published_before &&
                (!published || k->created_at >= published->created_at)) {
                published = k;
            }
            if (!oldest || k->created_at < oldest->created_at) {
                oldest = k;
            }
        }
        if (!newest || is_hmac(alg)) {
            return newest;
        }
        return published ? published : oldest;
    };
    if (auto k = pick()) {
        return k;
    }
    // Two threads issuing the first token of an alg must not make two keys.
    std::lock_guard lock(m_generate_mutex);
    if (auto k = pick()) {
        return k;
    }
    return insert(JoseKey::generate(alg), crypto::random_base62(16), "active", "generated", actor,
                  false);
}

std::shared_ptr<const RingKey> KeyRing::rotate(Alg alg, std::string_view actor) {
    std::lock_guard lock(m_generate_mutex);
    return insert(JoseKey::generate(alg), crypto::random_base62(16), "active", "generated", actor,
                  true);
}

std::shared_ptr<const RingKey> KeyRing::retire(std::string_view kid) {
    const auto now = m_clock.now();
    const auto changed = m_store.transaction([&](Connection& c) {
        const auto n = c.exec(
            "UPDATE signing_keys SET status = 'retired', retired_at = $2, private_sealed = NULL "
            "WHERE kid = $1 AND status <> 'retired'",
            {std::string(kid), now});
        if (n > 0) {
            events::append(c, k_topic, "signing_key.retired", {{"kid", kid}}, now);
        }
        return n;
    });
    {
        std::unique_lock lock(m_mutex);
        m_map.reset();
    }
    const auto map = snapshot();
    auto it = map->find(kid);
    if (it == map->end()) {
        throw Error(ErrorCode::not_found, "no signing key \"" + std::string(kid) + "\"",
                    {{"kid", kid}});
    }
    if (changed == 0 && it->second->origin == "config") {
        throw Error(ErrorCode::conflict,
                    "the configured HMAC key is retired by removing tokens.hmac_secret");
    }
    return it->second;
}

json RingKey::schema() {
    using namespace ops::schema;
    return named("SigningKey", object({{"kid", string()},
                                       {"alg", string()},
                                       {"status", choice({"active", "verify", "retired"})},
                                       {"origin", choice({"generated", "config", "imported"})},
                                       {"can_sign", boolean()},
                                       {"created_at", time()},
                                       {"retired_at", nullable(time())}}));
}

json jwks_schema() {
    using namespace ops::schema;
    return named("JwkSet", object({{"keys", array(object({{"kty", string()},
                                                          {"kid", string()},
                                                          {"alg", string()},
                                                          {"use", optional(string())},
                                                          {"crv", optional(string("EC, OKP"))},
                                                          {"x", optional(string("EC, OKP"))},
                                                          {"y", optional(string("EC"))},
                                                          {"n", optional(string("RSA"))},
                                                          {"e", optional(string("RSA"))}},
                                                         "A public JWK (RFC 7517)"))}}));
}

json KeyRing::jwks() {
    json keys = json::array();
    for (const auto& [kid, k] : *snapshot()) {
        if (k->status != "retired" && !is_hmac(k->key->alg())) {
            keys.push_back(k->key->public_jwk(kid));
        }
    }
    return {{"keys", keys}};
}

}  // namespace pb::tokens
