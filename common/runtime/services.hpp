#pragma once

#include <memory>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/events/follower.hpp"
#include "common/keys/service.hpp"
#include "common/store/store.hpp"

namespace pb {

// Everything an op handler may use, opened from the configuration: the store
// (migrated), the clock and the domain services. Owned by pbctl's main or pbd's
// lifecycle; thread-safe.
class Services {
  public:
    struct Options {
        int pool_size = 2;
    };

    // Opens the database named by db.url and brings its schema up to date.
    // Throws Error(unavailable) when the database cannot be opened.
    static std::unique_ptr<Services> open(Config config, const Clock& clock, Options options);

    ~Services();
    Services(const Services&) = delete;
    Services& operator=(const Services&) = delete;

    const Config& config() const { return m_config; }
    const Clock& clock() const { return m_clock; }
    store::Store& store() { return *m_store; }
    // Delivers changes committed anywhere to the in-memory caches.
    events::Follower& follower() { return *m_follower; }
    keys::KeyService& keys() { return *m_keys; }

  private:
    Services(Config config, const Clock& clock, std::unique_ptr<store::Store> store);

    Config m_config;
    const Clock& m_clock;
    std::unique_ptr<store::Store> m_store;
    std::unique_ptr<events::Follower> m_follower;
    std::unique_ptr<keys::KeyService> m_keys;
};

}  // namespace pb
