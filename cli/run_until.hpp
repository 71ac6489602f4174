#pragma once
// Header-only, for the blocking WebSocket clients that drive an io_context
// themselves (pbctl's, cli/ws_client.cpp, and the tests', tests/support):
// includes Boost.Asio, so only their translation units include it.

#include <chrono>

#include <boost/asio/io_context.hpp>

namespace pb::cli {

// Runs `ioc` one handler at a time until `done` turns true, or until
// `deadline`: false then.
inline bool run_until(boost::asio::io_context& ioc, const bool& done,
                      std::chrono::steady_clock::time_point deadline) {
    ioc.restart();
    while (!done) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            return false;
        }
        ioc.run_one_for(deadline - now);
    }
    return true;
}

}  // namespace pb::cli
