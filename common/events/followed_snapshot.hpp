#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>

#include "common/events/follower.hpp"

namespace pb::events {

// The current snapshot of a cache that follows the outbox (the key ring, the
// trusted issuers): first the follower catches up, which may drop `current`
// because another process changed what it holds; a dropped snapshot is loaded
// again by `reload`, which stores it into `current` under a unique lock of
// `mutex`. Readers share `mutex`.
template <class T, class Reload>
std::shared_ptr<const T> followed_snapshot(Follower& follower, std::shared_mutex& mutex,
                                           const std::shared_ptr<const T>& current,
                                           Reload&& reload) {
    follower.catch_up();
    {
        std::shared_lock lock(mutex);
        if (current) {
            return current;
        }
    }
    reload();
    std::shared_lock lock(mutex);
    return current;
}

}  // namespace pb::events
