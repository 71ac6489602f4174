#include <fstream>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// pbctl --server against one pbd, with its bootstrap key.
RunResult remote(const RunningDaemon& pbd, const std::string& key, const TempDir& dir,
                 std::vector<std::string> args) {
    args.insert(args.begin(), {pbctl_path(), "--server", pbd.url()});
    return run(args, {{"PB_API_KEY", key}, {"HOME", dir.path().string()}});
}

// The fields a round trip keeps, per ban.
json kept(const json& bans) {
    json out = json::array();
    for (const auto& b : bans) {
        out.push_back({{"target", b["target"]},
                       {"kind", b["kind"]},
                       {"reason", b["reason"]},
                       {"expires_at", b["expires_at"]},
                       {"origin", b["origin"]}});
    }
    return out;
}

// Pins: bans export -o csv and -o json through --server write files that
// bans import FILE through --server reads into another pbd (pbctl reads the
// file and sends the bans as the document): the same bans come out.
TEST(BansExportImport, RoundTripsThroughServerInBothFormats) {
    TempDir dir_a;
    TempDir dir_b;
    TempDir dir_c;
    TempDir files;
    RunningDaemon a(dir_a);
    const auto key_a = a.bootstrap_key();
    for (const std::vector<std::string>& add :
         {std::vector<std::string>{"bans", "add", "203.0.113.7", "--for", "4h", "--reason",
                                   "a, \"quoted\" reason"},
          {"bans", "add", "2001:db8::/32"},
          {"bans", "add", "user:mallory", "--for", "30d"}}) {
        const auto r = remote(a, key_a, files, add);
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const auto exported = remote(a, key_a, files, {"bans", "export", "-o", "json"});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    const auto expected = kept(json::parse(exported.out)["bans"]);
    ASSERT_EQ(expected.size(), 3U);

    for (const std::string format : {"csv", "json"}) {
        SCOPED_TRACE(format);
        const auto out = remote(a, key_a, files, {"bans", "export", "-o", format});
        ASSERT_EQ(out.exit_code, 0) << out.err;
        const auto path = files.file("bans." + format);
        std::ofstream(path) << out.out;

        RunningDaemon b(format == "csv" ? dir_b : dir_c);
        const auto key_b = b.bootstrap_key();
        const auto imported = remote(b, key_b, files, {"bans", "import", path, "-o", "json"});
        ASSERT_EQ(imported.exit_code, 0) << imported.err;
        EXPECT_EQ(json::parse(imported.out)["imported"], 3);
        const auto back = remote(b, key_b, files, {"bans", "export", "-o", "json"});
        ASSERT_EQ(back.exit_code, 0) << back.err;
        EXPECT_EQ(kept(json::parse(back.out)["bans"]), expected);
    }

    // Over HTTP a path is still refused: the daemon opens no file a client names.
    const auto res = a.client()->Post("/v1/bans/import", bearer(key_a),
                                      json{{"file", "/etc/passwd"}}.dump(), "application/json");
    EXPECT_EQ(status_of(res), 400);
}

}  // namespace
}  // namespace pb::test
