#include "common/runtime/services.hpp"

#include "common/core/log.hpp"
#include "common/store/migrations.hpp"

namespace pb {

Services::Services(Config config, const Clock& clock, std::unique_ptr<store::Store> store)
    : m_config(std::move(config)), m_clock(clock), m_store(std::move(store)) {
    m_follower = std::make_unique<events::Follower>(*m_store);
    m_keys = std::make_unique<keys::KeyService>(*m_store, m_clock, *m_follower);
}

std::unique_ptr<Services> Services::open(Config config, const Clock& clock, Options options) {
    store::StoreOptions so;
    so.busy_timeout_ms = config.get_duration_ms("db.busy_timeout");
    so.pool_size = options.pool_size;
    auto st = store::open_store(config.get("db.url"), so);
    store::migrate(*st, clock);
    return std::unique_ptr<Services>(new Services(std::move(config), clock, std::move(st)));
}

Services::~Services() {
    try {
        m_keys->flush_usage();
    } catch (const std::exception& e) {
        log::get("store")->warn("could not record key usage on shutdown: {}", e.what());
    }
}

}  // namespace pb
