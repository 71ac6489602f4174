// CrowdSec's Local API, the bouncer side: pbd's /v1/decisions/stream and
// /v1/decisions over HTTP (CrowdSecDecisions), `pbctl bouncers` on the
// database and through pbd (CrowdSecBouncers), replicas pulling through two
// pbd on one PostgreSQL (CrowdSecOnPostgres), and the real
// crowdsec-custom-bouncer from Debian following pb's bans (CrowdSecBouncer).
#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <unistd.h>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/test_db.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// pbd for bouncer tests: no address limit (bouncers poll every second here).
DaemonOptions bouncer_options() {
    DaemonOptions o;
    o.env = {{"PB_LIMITS_IP_RATE", "off"}};
    return o;
}

// `pbctl --db DB ARGS…` (on the database, as the local operator).
RunResult pbctl(const RunningDaemon& pbd, std::vector<std::string> args) {
    args.insert(args.begin(), {pbctl_path(), "--db", pbd.db()});
    return run(args, {});
}

// A bouncer key made by `pbctl bouncers add NAME`.
std::string bouncer_key(const RunningDaemon& pbd, const std::string& name) {
    const auto r = pbctl(pbd, {"bouncers", "add", name, "--url", pbd.url() + "/", "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto j = json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("api_key", "") : "";
}

void ban(const RunningDaemon& pbd, std::vector<std::string> args) {
    args.insert(args.begin(), {"bans", "add"});
    const auto r = pbctl(pbd, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
}

void unban(const RunningDaemon& pbd, const std::string& target) {
    const auto r = pbctl(pbd, {"bans", "remove", target});
    ASSERT_EQ(r.exit_code, 0) << r.err;
}

httplib::Headers with_key(const std::string& key, const std::string& forwarded = "") {
    httplib::Headers h{{"X-Api-Key", key}};
    if (!forwarded.empty()) {
        h.emplace("X-Forwarded-For", forwarded);
    }
    return h;
}

json pull(const RunningDaemon& pbd, const std::string& key, const std::string& query,
          const std::string& forwarded = "") {
    const auto res = pbd.client()->Get("/v1/decisions/stream" + query, with_key(key, forwarded));
    EXPECT_EQ(status_of(res), 200) << (res ? res->body : "");
    return body_json(res);
}

// The values of a decision list (null: none).
std::set<std::string> values(const json& list) {
    std::set<std::string> out;
    if (list.is_array()) {
        for (const auto& d : list) {
            out.insert(d.value("value", ""));
        }
    }
    return out;
}

const json* find_value(const json& list, const std::string& value) {
    if (list.is_array()) {
        for (const auto& d : list) {
            if (d.value("value", "") == value) {
                return &d;
            }
        }
    }
    return nullptr;
}

// Go's time.Duration.String(), as bouncers parse it.
bool is_go_duration(const std::string& s) {
    static const std::regex re(R"(^-?((\d+h)?(\d+m)?\d+(\.\d+)?s|\d+ms)$)");
    return std::regex_match(s, re);
}

// Pins: a startup pull sends every ip and range ban in force, in CrowdSec's
// decision shape (scope Ip/Range, type ban, origin cscli, the reason as
// scenario, the time left in Go syntax), never a user or key ban; the next
// pull sends nothing; a removed ban and an expired one come as deleted.
TEST(CrowdSecDecisions, StreamSendsAddressBansThenOnlyWhatChanged) {
    TempDir dir;
    RunningDaemon pbd(dir, bouncer_options());
    const auto key = bouncer_key(pbd, "fw");
    ban(pbd, {"203.0.113.7", "--for", "1h", "--reason", "ssh brute"});
    ban(pbd, {"10.9.0.0/16", "--reason", "bad net"});
    ban(pbd, {"user:mallory", "--reason", "fraud"});
    ban(pbd, {"key:AbCdEf123456", "--reason", "leaked"});

    const auto first = pull(pbd, key, "?startup=true");
    ASSERT_TRUE(first.is_object()) << first;
    EXPECT_TRUE(first["deleted"].is_null()) << first;
    EXPECT_EQ(values(first["new"]), (std::set<std::string>{"203.0.113.7", "10.9.0.0/16"}));
    const auto* ip = find_value(first["new"], "203.0.113.7");
    ASSERT_NE(ip, nullptr);
    EXPECT_EQ((*ip)["scope"], "Ip");
    EXPECT_EQ((*ip)["type"], "ban");
    EXPECT_EQ((*ip)["origin"], "cscli");
    EXPECT_EQ((*ip)["scenario"], "ssh brute");
    EXPECT_EQ((*ip)["simulated"], false);
    EXPECT_TRUE((*ip)["id"].is_number_integer());
    const auto left = (*ip)["duration"].get<std::string>();
    EXPECT_TRUE(is_go_duration(left)) << left;
    EXPECT_EQ(left.rfind("59m", 0), 0U) << left;  // an hour's ban, just set
    const auto* range = find_value(first["new"], "10.9.0.0/16");
    ASSERT_NE(range, nullptr);
    EXPECT_EQ((*range)["scope"], "Range");
    EXPECT_TRUE(is_go_duration((*range)["duration"].get<std::string>()));

    EXPECT_EQ(pull(pbd, key, "?startup=false"), (json{{"new", nullptr}, {"deleted", nullptr}}));
    EXPECT_EQ(pull(pbd, key, ""), (json{{"new", nullptr}, {"deleted", nullptr}}));

    unban(pbd, "10.9.0.0/16");
    ban(pbd, {"198.51.100.9", "--for", "1s", "--reason", "scan"});
    const auto second = pull(pbd, key, "");
    EXPECT_EQ(values(second["deleted"]), std::set<std::string>{"10.9.0.0/16"}) << second;
    EXPECT_EQ(values(second["new"]), std::set<std::string>{"198.51.100.9"}) << second;

    // The 1 s ban expires: no event is written for that, the next pull tells it.
    json expired;
    for (int i = 0; i < 40 && !find_value(expired["deleted"], "198.51.100.9"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        expired = pull(pbd, key, "");
    }
    const auto* gone = find_value(expired["deleted"], "198.51.100.9");
    ASSERT_NE(gone, nullptr) << expired;
    EXPECT_EQ((*gone)["duration"].get<std::string>().substr(0, 1), "-") << *gone;
    EXPECT_TRUE(is_go_duration((*gone)["duration"].get<std::string>()));
}

// Pins: the filters CrowdSec's bouncers send (scopes, origins,
// scenarios_containing, scenarios_not_containing) select what is sent;
// unknown values and a startup that is not a boolean are 400.
TEST(CrowdSecDecisions, FiltersSelectAndUnknownValuesAre400) {
    TempDir dir;
    RunningDaemon pbd(dir, bouncer_options());
    const auto key = bouncer_key(pbd, "fw");
    ban(pbd, {"203.0.113.7", "--reason", "ssh brute"});
    ban(pbd, {"10.9.0.0/16", "--reason", "bad net"});
    const auto sent = [&](const std::string& q) {
        return values(pull(pbd, key, "?startup=true&" + q)["new"]);
    };
    EXPECT_EQ(sent("scopes=range"), std::set<std::string>{"10.9.0.0/16"});
    EXPECT_EQ(sent("scopes=Ip"), std::set<std::string>{"203.0.113.7"});
    EXPECT_EQ(sent("scopes=ip,range"), (std::set<std::string>{"203.0.113.7", "10.9.0.0/16"}));
    EXPECT_EQ(sent("scopes=country"), std::set<std::string>{});
    EXPECT_EQ(sent("origins=cscli"), (std::set<std::string>{"203.0.113.7", "10.9.0.0/16"}));
    EXPECT_EQ(sent("origins=crowdsec,CAPI"), std::set<std::string>{});
    EXPECT_EQ(sent("scenarios_containing=ssh"), std::set<std::string>{"203.0.113.7"});
    EXPECT_EQ(sent("scenarios_not_containing=ssh"), std::set<std::string>{"10.9.0.0/16"});
    EXPECT_EQ(sent("community_pull=false"), (std::set<std::string>{"203.0.113.7", "10.9.0.0/16"}));

    auto c = pbd.client();
    for (const std::string q :
         {"startup=maybe", "startup=", "scopes=foo", "scopes=ip,,range", "origins=bogus",
          "scopes=ip&scopes=range", "scenarios_containing="}) {
        SCOPED_TRACE(q);
        const auto res = c->Get("/v1/decisions/stream?" + q, with_key(key));
        EXPECT_EQ(status_of(res), 400) << (res ? res->body : "");
        EXPECT_EQ(body_json(res)["code"], "invalid_argument");
        const auto head = c->Head("/v1/decisions/stream?" + q, with_key(key));
        EXPECT_EQ(status_of(head), 400);
    }
    // A refused pull moved nothing: the next delta still has nothing new.
    EXPECT_EQ(pull(pbd, key, ""), (json{{"new", nullptr}, {"deleted", nullptr}}));
}

// Pins: without a credential 401; a key without bans:read 403 (on both
// paths, GET and HEAD); other methods 405; nothing a bouncer sends changes a ban.
TEST(CrowdSecDecisions, AKeyNeedsBansRead) {
    TempDir dir;
    RunningDaemon pbd(dir, bouncer_options());
    const auto admin = pbd.bootstrap_key();
    const auto other =
        created_key(pbd, admin, {{"owner", "app"}, {"permissions", {"states:read"}}});
    const auto weak = other["key"].get<std::string>();
    const auto key = bouncer_key(pbd, "fw");
    ban(pbd, {"203.0.113.7"});
    auto c = pbd.client();
    for (const std::string path : {"/v1/decisions/stream", "/v1/decisions?ip=203.0.113.7"}) {
        SCOPED_TRACE(path);
        EXPECT_EQ(status_of(c->Get(path)), 401);
        EXPECT_EQ(status_of(c->Head(path)), 401);
        const auto refused = c->Get(path, with_key(weak));
        EXPECT_EQ(status_of(refused), 403);
        EXPECT_EQ(body_json(refused)["code"], "permission_denied");
        EXPECT_EQ(status_of(c->Head(path, with_key(weak))), 403);
        EXPECT_EQ(status_of(c->Get(path, with_key(key))), 200);
        EXPECT_EQ(status_of(c->Get(path, bearer(key))), 200);
        const auto post = c->Post(path, with_key(key), "{}", "application/json");
        EXPECT_EQ(status_of(post), 405);
        EXPECT_EQ(status_of(c->Delete(path, with_key(key))), 405);
    }
    const auto bans = body_json(c->Get("/v1/bans", bearer(admin)));
    ASSERT_EQ(bans["bans"].size(), 1U) << bans;
    EXPECT_EQ(bans["bans"][0]["target"], "203.0.113.7");
}

// Pins: HEAD answers 200 with no body and does not move the pull state: a
// ban added before a HEAD still comes in the next GET.
TEST(CrowdSecDecisions, HeadIsAHealthProbeThatMovesNothing) {
    TempDir dir;
    RunningDaemon pbd(dir, bouncer_options());
    const auto key = bouncer_key(pbd, "fw");
    pull(pbd, key, "?startup=true");
    ban(pbd, {"203.0.113.7"});
    auto c = pbd.client();
    for (int i = 0; i < 3; ++i) {
        const auto head = c->Head("/v1/decisions/stream", with_key(key));
        ASSERT_EQ(status_of(head), 200);
        EXPECT_TRUE(head->body.empty());
        EXPECT_EQ(status_of(c->Head("/v1/decisions/stream?startup=true", with_key(key))), 200);
        EXPECT_EQ(status_of(c->Head("/v1/decisions", with_key(key))), 200);
    }
    EXPECT_EQ(values(pull(pbd, key, "")["new"]), std::set<std::string>{"203.0.113.7"});
}

// Pins: GET /v1/decisions answers the ban covering an address or a range,
// null when none; a user ban is never told; bad questions are 400.
TEST(CrowdSecDecisions, LookupAnswersTheBanOrNull) {
    TempDir dir;
    RunningDaemon pbd(dir, bouncer_options());
    const auto key = bouncer_key(pbd, "fw");
    ban(pbd, {"203.0.113.7", "--reason", "ssh brute"});
    ban(pbd, {"10.9.0.0/16", "--reason", "bad net"});
    ban(pbd, {"user:mallory"});
    auto c = pbd.client();
    const auto ask = [&](const std::string& q) {
        const auto res = c->Get("/v1/decisions?" + q, with_key(key));
        EXPECT_EQ(status_of(res), 200) << q << ": " << (res ? res->body : "");
        return body_json(res);
    };
    auto one = ask("ip=203.0.113.7");
    ASSERT_TRUE(one.is_array() && one.size() == 1) << one;
    EXPECT_EQ(one[0]["scope"], "Ip");
    EXPECT_EQ(one[0]["scenario"], "ssh brute");
    one = ask("ip=10.9.3.4");
    ASSERT_TRUE(one.is_array() && one.size() == 1) << one;
    EXPECT_EQ(one[0]["value"], "10.9.0.0/16");
    EXPECT_EQ(one[0]["scope"], "Range");
    EXPECT_EQ(ask("range=10.9.1.0/24")[0]["value"], "10.9.0.0/16");
    EXPECT_EQ(ask("scope=ip&value=10.9.3.4")[0]["value"], "10.9.0.0/16");
    EXPECT_EQ(ask("ip=10.9.3.4&type=ban").size(), 1U);
    EXPECT_TRUE(ask("ip=10.9.3.4&type=captcha").is_null());
    EXPECT_TRUE(ask("ip=192.0.2.1").is_null());
    EXPECT_TRUE(ask("range=10.0.0.0/8").is_null());  // only part of it is banned
    for (const std::string q :
         {"", "ip=mallory", "ip=", "range=user:mallory", "scope=country&value=FR", "scope=ip",
          "ip=192.0.2.1&range=10.0.0.0/8", "ip=192.0.2.1&type=bogus"}) {
        SCOPED_TRACE(q);
        const auto res = c->Get("/v1/decisions?" + q, with_key(key));
        EXPECT_EQ(status_of(res), 400) << (res ? res->body : "");
    }
}

// Pins: the pull state is per key AND client address (crowdsec issue #3255):
// two replicas sharing a key, one direct and one behind a trusted proxy, each
// get every deletion; and it is in the database: a ban removed while pbd is
// down comes as deleted after its restart.
TEST(CrowdSecDecisions, EachAddressOfAKeyGetsEveryDeletionAcrossRestarts) {
    TempDir dir;
    const auto key = [&] {
        RunningDaemon pbd(dir, bouncer_options());
        const auto k = bouncer_key(pbd, "fw");
        ban(pbd, {"203.0.113.7"});
        ban(pbd, {"203.0.113.8"});
        EXPECT_EQ(values(pull(pbd, k, "?startup=true")["new"]).size(), 2U);
        EXPECT_EQ(values(pull(pbd, k, "?startup=true", "198.51.100.20")["new"]).size(), 2U);
        unban(pbd, "203.0.113.7");
        EXPECT_EQ(values(pull(pbd, k, "")["deleted"]), std::set<std::string>{"203.0.113.7"});
        EXPECT_EQ(values(pull(pbd, k, "")["deleted"]), std::set<std::string>{});
        return k;
    }();
    // pbd is down: pbctl removes a ban on the database.
    {
        const auto r =
            run({pbctl_path(), "--db", dir.file("pb.db"), "bans", "remove", "203.0.113.8"}, {});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    RunningDaemon pbd(dir, bouncer_options());
    EXPECT_EQ(values(pull(pbd, key, "")["deleted"]), std::set<std::string>{"203.0.113.8"});
    // The replica behind the proxy missed neither deletion.
    EXPECT_EQ(values(pull(pbd, key, "", "198.51.100.20")["deleted"]),
              (std::set<std::string>{"203.0.113.7", "203.0.113.8"}));
    const auto list = pbctl(pbd, {"bouncers", "list", "-o", "json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(json::parse(list.out)["bouncers"][0]["pullers"], 2);
}

// Pins: pbctl bouncers add makes a key holding only bans:read (owner
// bouncer:NAME) and prints api_url and api_key; list shows it; remove revokes
// it (its pulls are 401 after); on the database and through pbd alike; a
// name taken is 409 (exit 5), a bad name exit 2, an unknown one exit 4.
TEST(CrowdSecBouncers, PbctlAddsListsAndRemovesBouncerKeys) {
    TempDir dir;
    RunningDaemon pbd(dir, bouncer_options());
    const std::map<std::string, std::string> remote{{"PB_SERVER", pbd.url()},
                                                    {"PB_API_KEY", pbd.bootstrap_key()}};
    const auto q =
        pbctl(pbd, {"bouncers", "add", "edge-1", "--url", "http://10.0.0.5:8700/", "-q"});
    ASSERT_EQ(q.exit_code, 0) << q.err;
    const std::regex lines(R"(^api_url: http://10\.0\.0\.5:8700/\napi_key: (pb_\S+)\n$)");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(q.out, m, lines)) << q.out;
    const auto key = m[1].str();
    const auto shown =
        json::parse(pbctl(pbd, {"keys", "list", "--owner", "bouncer:edge-1", "-o", "json"}).out);
    ASSERT_EQ(shown["keys"].size(), 1U) << shown;
    EXPECT_EQ(shown["keys"][0]["permissions"], json::array({"bans:read"}));
    EXPECT_EQ(status_of(pbd.client()->Get("/v1/keys", bearer(key))), 403);
    EXPECT_EQ(status_of(pbd.client()->Get("/v1/decisions/stream", with_key(key))), 200);

    const auto served = run({pbctl_path(), "bouncers", "add", "edge-2", "-o", "json"}, remote);
    ASSERT_EQ(served.exit_code, 0) << served.err;
    const auto edge2 = json::parse(served.out);
    EXPECT_EQ(edge2["permissions"], json::array({"bans:read"}));
    EXPECT_EQ(edge2["config"], "api_url: " + edge2["api_url"].get<std::string>() +
                                   "\napi_key: " + edge2["api_key"].get<std::string>());

    EXPECT_EQ(pbctl(pbd, {"bouncers", "add", "edge-1"}).exit_code, 5);
    EXPECT_EQ(run({pbctl_path(), "bouncers", "add", "edge-1"}, remote).exit_code, 5);
    EXPECT_EQ(pbctl(pbd, {"bouncers", "add", "bad name"}).exit_code, 2);
    EXPECT_EQ(pbctl(pbd, {"bouncers", "add", "x", "--url", "ftp://h/"}).exit_code, 2);
    EXPECT_EQ(pbctl(pbd, {"bouncers", "remove", "nobody"}).exit_code, 4);

    const auto listed = run({pbctl_path(), "bouncers", "list", "-o", "json"}, remote);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    const auto rows = json::parse(listed.out)["bouncers"];
    ASSERT_EQ(rows.size(), 2U) << rows;
    EXPECT_EQ(rows[0]["name"], "edge-1");
    EXPECT_EQ(rows[0]["pullers"], 1);
    EXPECT_EQ(rows[1]["name"], "edge-2");

    const auto removed = run({pbctl_path(), "bouncers", "remove", "edge-1", "-o", "json"}, remote);
    ASSERT_EQ(removed.exit_code, 0) << removed.err;
    EXPECT_EQ(json::parse(removed.out)["pullers_forgotten"], 1);
    EXPECT_EQ(status_of(pbd.client()->Get("/v1/decisions/stream", with_key(key))), 401);
    EXPECT_EQ(pbctl(pbd, {"bouncers", "remove", "edge-2"}).exit_code, 0);
    const auto after = json::parse(pbctl(pbd, {"bouncers", "list", "-o", "json"}).out)["bouncers"];
    for (const auto& row : after) {
        EXPECT_EQ(row["status"], "revoked") << row;
    }
}

// What one bouncer replica believes is banned: each pull's deleted taken
// out, then its new put in (as CrowdSec's bouncers apply them).
void apply_pull(std::set<std::string>& view, const json& answer) {
    for (const auto& v : values(answer["deleted"])) {
        view.erase(v);
    }
    for (const auto& v : values(answer["new"])) {
        view.insert(v);
    }
}

// Pins: with two pbd on one PostgreSQL behind a "balancer" (each pull goes to
// either), two replicas of one bouncer sharing a key (two client addresses)
// pulling while bans are added and removed through both daemons at once end
// with exactly the bans in force: no addition and no deletion lost, whichever
// daemon answered and whatever order the transactions committed in.
TEST(CrowdSecOnPostgres, ReplicasPullingThroughTwoDaemonsLoseNothing) {
    TempDir dir;
    TestDb db{Backend::postgres};
    DaemonOptions o{.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")},
                            {"PB_LIMITS_IP_RATE", "off"},
                            {"PB_LIMITS_USER_RATE", "off"},
                            {"PB_LIMITS_KEY_RATE", "off"}},
                    .db = db.url()};
    RunningDaemon a(dir, o);
    RunningDaemon b(dir, o);
    const auto admin = a.bootstrap_key();
    const auto made = body_json(
        a.client()->Post("/v1/bouncers", bearer(admin), R"({"name":"fw"})", "application/json"));
    const auto key = made.value("api_key", "");
    ASSERT_FALSE(key.empty()) << made;
    const std::vector<const RunningDaemon*> daemons{&a, &b};

    std::atomic<bool> writing{true};
    std::thread writer([&] {
        auto ca = a.client();
        auto cb = b.client();
        for (int i = 0; i < 40; ++i) {
            auto& c = i % 2 == 0 ? *ca : *cb;
            const auto target = "203.0.113." + std::to_string(i);
            EXPECT_EQ(status_of(c.Post("/v1/bans", bearer(admin), json{{"target", target}}.dump(),
                                       "application/json")),
                      201);
            if (i % 3 == 2) {
                const auto old = "203.0.113." + std::to_string(i - 2);
                EXPECT_EQ(status_of(c.Delete("/v1/bans/" + old, bearer(admin))), 200);
            }
        }
        writing = false;
    });
    std::vector<std::set<std::string>> views(2);
    std::vector<std::thread> replicas;
    for (int r = 0; r < 2; ++r) {
        replicas.emplace_back([&, r] {
            const auto from = "198.51.100." + std::to_string(r + 1);
            apply_pull(views[r], pull(a, key, "?startup=true", from));
            for (int i = 0; writing && i < 2000; ++i) {
                apply_pull(views[r], pull(*daemons[i % 2], key, "", from));
            }
        });
    }
    writer.join();
    for (auto& t : replicas) {
        t.join();
    }
    std::set<std::string> in_force;
    const auto listed = a.client()->Get("/v1/bans?limit=1000", bearer(admin));
    ASSERT_EQ(status_of(listed), 200) << (listed ? listed->body : "");
    const auto listed_json = body_json(listed);
    for (const auto& bn : listed_json["bans"]) {
        in_force.insert(bn["target"].get<std::string>());
    }
    EXPECT_EQ(in_force.size(), 27U);
    for (int r = 0; r < 2; ++r) {
        const auto from = "198.51.100." + std::to_string(r + 1);
        apply_pull(views[r], pull(b, key, "", from));
        EXPECT_EQ(views[r], in_force) << "replica " << r;
    }
}

// Waits (bounded) until the recorded calls hold `line`'s start.
bool wait_for_call(const std::string& calls_file, const std::string& start,
                   std::chrono::seconds limit = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        std::istringstream calls(read_file(calls_file));
        for (std::string line; std::getline(calls, line);) {
            if (line.rfind(start, 0) == 0) {
                return true;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

// pbd on a fixed loopback port (the bouncer must find it again after a
// restart), on `dir`'s pb.db; SIGTERM when destroyed. Waits (bounded) for the port file.
std::unique_ptr<Process> fixed_port_pbd(const TempDir& dir, int port, int n) {
    const auto port_file = dir.file("fixed-port." + std::to_string(n));
    auto p = std::make_unique<Process>(
        std::vector<std::string>{pbd_path(), "--db", dir.file("pb.db"), "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--port-file", port_file,
                                 "--threads", "2"},
        std::map<std::string, std::string>{{"PB_LIMITS_IP_RATE", "off"}},
        dir.file("pbd.out." + std::to_string(n)), dir.file("pbd.err." + std::to_string(n)));
    for (int i = 0; i < 1000 && read_file(port_file).empty() && p->running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_FALSE(read_file(port_file).empty())
        << read_file(dir.file("pbd.err." + std::to_string(n)));
    return p;
}

RunResult pbctl_on(const TempDir& dir, std::vector<std::string> args) {
    args.insert(args.begin(), {pbctl_path(), "--db", dir.file("pb.db")});
    return run(args, {});
}

// Pins, with the real crowdsec-custom-bouncer (Debian) polling pbd every
// second: a range ban set before it starts reaches its script as "add" with
// the range; a ban added by pbctl as "add", removed as "del", expired as
// "del"; after pbd restarts (same port) the bouncer resyncs: a ban removed
// while pbd was down is "del", one added after is "add"; user and key bans
// never reach it.
TEST(CrowdSecBouncer, RealCustomBouncerFollowsPbBans) {
    const std::string binary = "/usr/bin/crowdsec-custom-bouncer";
    if (!std::filesystem::exists(binary)) {
        GTEST_SKIP() << "crowdsec-custom-bouncer is not installed (scripts/install-deps.sh "
                        "installs it)";
    }
    TempDir dir;
    const int port = free_port();
    auto pbd = fixed_port_pbd(dir, port, 1);
    const auto added = pbctl_on(dir, {"bouncers", "add", "custom", "-o", "json", "--url",
                                      "http://127.0.0.1:" + std::to_string(port) + "/"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    const auto key = json::parse(added.out)["api_key"].get<std::string>();
    const auto must = [&](std::vector<std::string> args) {
        const auto r = pbctl_on(dir, args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
    };
    must({"bans", "add", "10.9.0.0/16", "--reason", "bad-net"});
    must({"bans", "add", "user:mallory", "--reason", "fraud"});
    must({"bans", "add", "key:AbCdEf123456", "--reason", "leaked"});

    const auto calls = dir.file("calls.txt");
    const auto script = dir.file("record.sh");
    { std::ofstream(script) << "#!/bin/sh\necho \"$@\" >> " << calls << "\n"; }
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    {
        std::ofstream(dir.file("bouncer.yaml"))
            << "bin_path: " << script
            << "\nfeed_via_stdin: false\ntotal_retries: 0\nscenarios_containing: []\n"
               "scenarios_not_containing: []\norigins: []\npiddir: "
            << dir.path().string()
            << "/\nupdate_frequency: 1s\ncache_retention_duration: 1s\ndaemonize: false\n"
               "log_mode: stdout\nlog_level: info\napi_url: http://127.0.0.1:"
            << port << "/\napi_key: " << key << "\nprometheus:\n  enabled: false\n";
    }
    Process bouncer({binary, "-c", dir.file("bouncer.yaml")}, {}, dir.file("bouncer.out"),
                    dir.file("bouncer.err"));
    const auto log = [&] {
        return "calls:\n" + read_file(calls) + "bouncer:\n" + read_file(dir.file("bouncer.out")) +
               read_file(dir.file("bouncer.err"));
    };
    EXPECT_TRUE(wait_for_call(calls, "add 10.9.0.0/16 ")) << log();

    must({"bans", "add", "203.0.113.7", "--reason", "ssh-brute"});
    EXPECT_TRUE(wait_for_call(calls, "add 203.0.113.7 ")) << log();
    must({"bans", "remove", "203.0.113.7"});
    EXPECT_TRUE(wait_for_call(calls, "del 203.0.113.7 ")) << log();
    must({"bans", "add", "198.51.100.9", "--for", "2s", "--reason", "scan"});
    EXPECT_TRUE(wait_for_call(calls, "add 198.51.100.9 ")) << log();
    EXPECT_TRUE(wait_for_call(calls, "del 198.51.100.9 ")) << log();

    // pbd stops; meanwhile the range ban is lifted on the database; pbd restarts.
    EXPECT_TRUE(pbd->signal_and_wait(SIGTERM, std::chrono::seconds(10)).has_value());
    pbd.reset();
    must({"bans", "remove", "10.9.0.0/16"});
    pbd = fixed_port_pbd(dir, port, 2);
    EXPECT_TRUE(wait_for_call(calls, "del 10.9.0.0/16 ")) << log();
    must({"bans", "add", "203.0.113.99", "--reason", "after-restart"});
    EXPECT_TRUE(wait_for_call(calls, "add 203.0.113.99 ")) << log();

    const auto recorded = read_file(calls);
    EXPECT_EQ(recorded.find("mallory"), std::string::npos) << recorded;
    EXPECT_EQ(recorded.find("AbCdEf123456"), std::string::npos) << recorded;
    EXPECT_TRUE(bouncer.running()) << log();
}

}  // namespace
}  // namespace pb::test
