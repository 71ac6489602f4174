#pragma once
// Beast-free: what every part of the WebSocket side pushes frames to.

#include <cstdint>
#include <memory>
#include <string>

namespace pb::daemon {

// One encoded text frame, shared by every session it goes to.
using WsFrame = std::shared_ptr<const std::string>;

// What the hub's parts push frames to: one WebSocket session (daemon/ws/session.hpp).
class WsSink {
  public:
    virtual ~WsSink() = default;
    // Queues a text frame to send. Thread-safe and never blocks; a sink whose
    // queue would pass ws.max_queue drops its client instead.
    virtual void push(WsFrame frame) = 0;
    // Bytes queued and not yet written.
    virtual std::uint64_t queued_bytes() const = 0;
    // Drops the client (close 1013, or a hard close when it does not read).
    virtual void drop_slow() = 0;
    // Closes with 1001 (going away): pbd is stopping.
    virtual void going_away() = 0;
    // The session's credential may have been withdrawn (an event on its key,
    // on token revocations or on bans): re-check it, spending nothing, and
    // close (1008) when it no longer admits. Thread-safe and never blocks.
    virtual void recheck() = 0;
};

}  // namespace pb::daemon
