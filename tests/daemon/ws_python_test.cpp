// pbd's WebSocket from an independent client: Debian's python3-websockets.
#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

TEST(DaemonWsPython, IndependentClientAuthenticatesCallsSubscribesAndUsesRooms) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto r = run({"/usr/bin/python3", std::string(PB_SOURCE_DIR) + "/tests/daemon/ws_peer.py",
                        std::to_string(pbd.port()), pbd.bootstrap_key()},
                       {}, "", std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
    EXPECT_NE(r.out.find("OK"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pb::test
