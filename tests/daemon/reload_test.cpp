// pbd reloads its configuration on SIGHUP and on `pbctl --server URL reload`
// (POST /v1/reload): new limits apply at once, under load, while WebSocket
// subscribers stay; a bad file changes nothing and says why; settings that
// need a restart are named; the log level follows the file.
#include <csignal>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// pb.yaml for these tests: limits off but for `key_rate`, and an allow-list
// that leaves loopback out, so the gate counts the test's own requests.
std::string config_text(const std::string& key_rate, const std::string& log_level = "info",
                        const std::string& extra = "", const std::string& allow = "192.0.2.1/32") {
    return "bans:\n  allow: \"" + allow +
           "\"\n"
           "limits:\n  ip:\n    rate: \"off\"\n  user:\n    rate: \"off\"\n  key:\n    rate: \"" +
           key_rate + "\"\nlog:\n  level: " + log_level + "\n" + extra;
}

void write(const std::string& path, const std::string& text) {
    std::ofstream(path + ".tmp") << text;
    std::filesystem::rename(path + ".tmp", path);  // pbd never reads half a file
}

// Polls until `done` or the bound; true when done.
template <typename F>
bool eventually(F done, std::chrono::milliseconds bound = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(20ms);
    }
    return done();
}

// The exit code of `p` once it has finished within `bound`, else nullopt.
std::optional<int> exit_code(Process& p, std::chrono::milliseconds bound) {
    if (!eventually([&] { return !p.running(); }, bound)) {
        return std::nullopt;
    }
    return p.signal_and_wait(0, 0ms);
}

int auth_status(const RunningDaemon& pbd, const std::string& key) {
    return status_of(pbd.client()->Get("/v1/auth", bearer(key)));
}

// pbctl --server URL reload -o json, as `key` (the bootstrap admin by default).
RunResult pbctl_reload(const RunningDaemon& pbd, std::string key = {}) {
    return run({pbctl_path(), "--server", pbd.url(), "-o", "json", "reload"},
               {{"PB_API_KEY", key.empty() ? pbd.bootstrap_key() : key}});
}

enum class ReloadBy { sighup, pbctl };

// Pins: under wrk's load on GET /v1/auth and with WebSocket subscribers
// connected, a reload (SIGHUP or pbctl --server … reload) makes a new key
// limit apply to the next request, wrk sees no socket error and no refusal,
// and every subscriber is still connected and receives the next event.
void reload_under_load(ReloadBy by) {
    TempDir dir;
    const auto config = dir.file("pb.yaml");
    write(config, config_text("off"));
    RunningDaemon pbd(dir, {.env = {{"PB_CONFIG", config}}});
    const auto admin = pbd.bootstrap_key();
    // wrk's key carries its own limit, so the reload's new default leaves it alone.
    const auto load_key =
        created_key(
            pbd, admin,
            {{"owner", "load"}, {"permissions", {"read"}}, {"rate_limit", "1000000/s"}})["key"]
            .get<std::string>();
    const auto probe =
        created_key(pbd, admin, {{"owner", "probe"}, {"permissions", {"read"}}})["key"]
            .get<std::string>();
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(auth_status(pbd, probe), 200) << "limits.key.rate is off before the reload";
    }

    Process subscribers(
        {"/usr/bin/python3", std::string(PB_SOURCE_DIR) + "/tests/daemon/reload_subscribers.py",
         std::to_string(pbd.port()), admin, "8", dir.file("ready"), dir.file("go")},
        {}, dir.file("subs.out"), dir.file("subs.err"));
    ASSERT_TRUE(eventually([&] { return !read_file(dir.file("ready")).empty(); }, 30s))
        << read_file(dir.file("subs.out")) << read_file(dir.file("subs.err"));
    Process wrk({"/usr/bin/wrk", "-t1", "-c16", "-d4s", "-H", "Authorization: Bearer " + load_key,
                 pbd.url() + "/v1/auth"},
                {}, dir.file("wrk.out"), dir.file("wrk.err"));
    std::this_thread::sleep_for(1s);  // the load is under way (not a timed assertion)

    write(config, config_text("3/min"));
    if (by == ReloadBy::sighup) {
        ASSERT_EQ(kill(pbd.process().pid(), SIGHUP), 0);
        ASSERT_TRUE(eventually([&] {
            return pbd.err().find("config.reload (SIGHUP) applied") != std::string::npos;
        })) << pbd.err();
        EXPECT_NE(pbd.err().find("changed=limits.key.rate"), std::string::npos) << pbd.err();
    } else {
        const auto r = pbctl_reload(pbd);
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const auto answer = json::parse(r.out);
        EXPECT_EQ(answer["changed"], json({"limits.key.rate"})) << r.out;
        EXPECT_EQ(answer["restart_required"], json::array()) << r.out;
        EXPECT_EQ(answer["file"], config) << r.out;
    }
    // The new limit counts from the reload on: 3 a minute, the fourth refused.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(auth_status(pbd, probe), 200) << "request " << i + 1;
    }
    const auto refused = pbd.client()->Get("/v1/auth", bearer(probe));
    EXPECT_EQ(status_of(refused), 429);
    if (refused) {
        EXPECT_NE(refused->get_header_value("RateLimit-Policy").find("q=3"), std::string::npos)
            << refused->get_header_value("RateLimit-Policy");
    }

    // Every subscriber is still there and hears the next change.
    const auto made = created_key(pbd, admin, {{"owner", "after-reload"}});
    write(dir.file("go"), made["id"].get<std::string>() + "\n");
    const auto subs_rc = exit_code(subscribers, 60s);
    EXPECT_EQ(subs_rc, 0) << read_file(dir.file("subs.out")) << read_file(dir.file("subs.err"));

    ASSERT_TRUE(exit_code(wrk, 30s).has_value());
    const auto wrk_out = read_file(dir.file("wrk.out"));
    EXPECT_NE(wrk_out.find("requests in"), std::string::npos) << wrk_out;
    EXPECT_EQ(wrk_out.find("Socket errors"), std::string::npos) << wrk_out;
    EXPECT_EQ(wrk_out.find("Non-2xx"), std::string::npos) << wrk_out;
    EXPECT_EQ(metric(pbd, "pb_ws_dropped_slow_total"), 0);
}

TEST(DaemonReload, SighupAppliesANewLimitUnderLoadAndKeepsSubscribers) {
    reload_under_load(ReloadBy::sighup);
}

TEST(DaemonReload, PbctlServerReloadAnswersWhatChangedUnderLoadAndKeepsSubscribers) {
    reload_under_load(ReloadBy::pbctl);
}

// Pins: a file with a YAML syntax error, or a bad value, is refused whole:
// pbctl exits 2 (invalid_argument) with a message naming the file (and the
// key or line), the log says the same, and the limit in force stays; SIGHUP
// with a bad file keeps pbd serving with its old settings.
TEST(DaemonReload, BrokenFileChangesNothingAndSaysWhy) {
    TempDir dir;
    const auto config = dir.file("pb.yaml");
    write(config, config_text("3/min"));
    RunningDaemon pbd(dir, {.env = {{"PB_CONFIG", config}}});
    // An admin key with its own limit: the default of 3 a minute is the probe's.
    const auto admin =
        created_key(
            pbd, pbd.bootstrap_key(),
            {{"owner", "operator"}, {"permissions", {"admin"}}, {"rate_limit", "1000000/s"}})["key"]
            .get<std::string>();
    const auto probe =
        created_key(pbd, admin, {{"owner", "probe"}, {"permissions", {"read"}}})["key"]
            .get<std::string>();

    // A YAML syntax error (an unclosed flow map), which would also turn the limit off.
    write(config, config_text("off") + "server: {trusted_proxies: \"10.0.0.1\"\n");
    auto r = pbctl_reload(pbd, admin);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(config), std::string::npos) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("nothing changed"), std::string::npos) << r.out << r.err;
    EXPECT_NE(pbd.err().find("config.reload (system.reload) refused, nothing changed: " + config),
              std::string::npos)
        << pbd.err();

    // A value of the right type that does not parse: named by key and file.
    write(config, config_text("fast"));
    r = pbctl_reload(pbd, admin);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    const auto answer = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << r.out << r.err;
    EXPECT_EQ(answer["error"]["code"], "invalid_argument") << r.out;
    EXPECT_EQ(answer["error"]["details"]["key"], "limits.key.rate") << r.out;
    EXPECT_EQ(answer["error"]["details"]["file"], config) << r.out;
    EXPECT_NE(answer["error"]["message"].get<std::string>().find("limits.key.rate"),
              std::string::npos)
        << r.out;

    // A bad allow-list range: the same, over HTTP.
    write(config, config_text("off", "info", "", "10.0.0.0/99"));
    const auto http = pbd.client()->Post("/v1/reload", bearer(admin), "{}", "application/json");
    EXPECT_EQ(status_of(http), 400);
    EXPECT_NE(body_json(http).dump().find("bans.allow"), std::string::npos) << body_json(http);

    // SIGHUP with the broken file: logged, refused, pbd serves on.
    write(config, config_text("fast"));
    ASSERT_EQ(kill(pbd.process().pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually([&] {
        return pbd.err().find("config.reload (SIGHUP) refused, nothing changed: " + config) !=
               std::string::npos;
    })) << pbd.err();
    EXPECT_NE(pbd.err().find("limits.key.rate"), std::string::npos) << pbd.err();

    // Nothing changed: the limit of 3 a minute still counts.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(auth_status(pbd, probe), 200) << "request " << i + 1;
    }
    EXPECT_EQ(auth_status(pbd, probe), 429);
    EXPECT_TRUE(pbd.process().running());
}

// Pins: a changed listen address (and database setting) is named in
// restart_required and not applied: pbd keeps answering on its port, and
// the settings that can change do.
TEST(DaemonReload, ChangedListenAddressIsNamedAsRestartRequired) {
    TempDir dir;
    const auto config = dir.file("pb.yaml");
    const auto port = free_port();
    ASSERT_NE(port, 0);
    write(config, config_text("off", "info",
                              "server:\n  listen: \"127.0.0.1:" + std::to_string(port) + "\"\n"));
    // No --listen flag: the file's address is the one in force.
    Process pbd({pbd_path(), "--db", dir.file("pb.db"), "--threads", "2"}, {{"PB_CONFIG", config}},
                dir.file("pbd.out"), dir.file("pbd.err"));
    const auto url = "http://127.0.0.1:" + std::to_string(port);
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(2, 0);
    ASSERT_TRUE(eventually([&] { return status_of(client.Get("/ready")) == 200; }))
        << read_file(dir.file("pbd.err"));
    const auto admin = read_file(dir.file("bootstrap-admin.key"));
    const std::string key(admin.substr(0, admin.find('\n')));

    const auto other = free_port();
    write(config, config_text("2/min", "info",
                              "server:\n  listen: \"127.0.0.1:" + std::to_string(other) +
                                  "\"\ndb:\n  busy_timeout: 7s\n"));
    const auto r =
        run({pbctl_path(), "--server", url, "-o", "json", "reload"}, {{"PB_API_KEY", key}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto answer = json::parse(r.out);
    EXPECT_EQ(answer["changed"], json({"limits.key.rate"})) << r.out;
    EXPECT_EQ(answer["restart_required"], json({"db.busy_timeout", "server.listen"})) << r.out;
    const auto log = read_file(dir.file("pbd.err"));
    EXPECT_NE(log.find("server.listen changed but takes effect only at the next start"),
              std::string::npos)
        << log;
    // Still on the old port, the new limit in force.
    EXPECT_EQ(status_of(client.Get("/ready")), 200);
    EXPECT_EQ(pbd.signal_and_wait(SIGTERM, 10s), 0);
}

// Pins: log.level follows the file on reload: at warn, a reload's own info
// line is not written; after a reload to info, it is.
TEST(DaemonReload, LogLevelChangeTakesEffect) {
    TempDir dir;
    const auto config = dir.file("pb.yaml");
    write(config, config_text("off", "warn"));
    RunningDaemon pbd(dir, {.env = {{"PB_CONFIG", config}}});
    auto r = pbctl_reload(pbd);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(json::parse(r.out)["changed"], json::array()) << r.out;
    EXPECT_EQ(pbd.err().find("config.reload"), std::string::npos) << pbd.err();

    write(config, config_text("off", "info"));
    r = pbctl_reload(pbd);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(json::parse(r.out)["changed"], json({"log.level"})) << r.out;
    EXPECT_NE(pbd.err().find("config.reload (system.reload) applied: changed=log.level"),
              std::string::npos)
        << pbd.err();
    // config show reflects what is in force.
    const auto shown =
        run({pbctl_path(), "--server", pbd.url(), "-o", "json", "config", "explain", "log.level"},
            {{"PB_API_KEY", pbd.bootstrap_key()}});
    EXPECT_EQ(json::parse(shown.out, nullptr, false)["value"], "info") << shown.out << shown.err;
}

// Pins: reloading needs admin (a read key gets 403 and nothing changes), and
// pbctl on the database has no daemon to reload: exit 2 with a message that
// says to use --server.
TEST(DaemonReload, NeedsAdminAndADaemon) {
    TempDir dir;
    const auto config = dir.file("pb.yaml");
    write(config, config_text("off"));
    RunningDaemon pbd(dir, {.env = {{"PB_CONFIG", config}}});
    const auto reader = created_key(pbd, pbd.bootstrap_key(),
                                    {{"owner", "reader"}, {"permissions", {"read"}}})["key"]
                            .get<std::string>();
    write(config, config_text("1/min"));
    const auto denied = pbd.client()->Post("/v1/reload", bearer(reader), "{}", "application/json");
    EXPECT_EQ(status_of(denied), 403);
    EXPECT_EQ(pbd.err().find("config.reload"), std::string::npos) << pbd.err();
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(auth_status(pbd, reader), 200) << "the old limit (off) is still in force";
    }

    const auto local = run({pbctl_path(), "--db", dir.file("local.db"), "reload"}, {});
    EXPECT_EQ(local.exit_code, 2) << local.out << local.err;
    EXPECT_NE(local.err.find("no daemon here to reload"), std::string::npos) << local.err;
    EXPECT_NE(local.err.find("--server"), std::string::npos) << local.err;
}

}  // namespace
}  // namespace pb::test
