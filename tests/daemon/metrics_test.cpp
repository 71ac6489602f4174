// pbd's /metrics as an SRE reads it: outcomes of key and token verifies,
// credentials, limit checks and gate decisions; the database's latency, pool
// and retries; the outbox lag; process_*; and the Grafana dashboard shipped
// in packaging/grafana, every metric of which must exist after a workload.

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/test_db.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

bool ident_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool ident_char(char c) {
    return ident_start(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// Skips from `i` (an opening quote or bracket) past its close, minding strings.
std::size_t skip_group(std::string_view e, std::size_t i) {
    const char open = e[i];
    if (open == '"' || open == '\'' || open == '`') {
        for (++i; i < e.size() && e[i] != open; ++i) {
            if (e[i] == '\\' && open != '`') {
                ++i;
            }
        }
        return i + 1;
    }
    const char close = open == '{' ? '}' : open == '[' ? ']' : ')';
    int depth = 0;
    for (; i < e.size(); ++i) {
        if (e[i] == '"' || e[i] == '\'' || e[i] == '`') {
            i = skip_group(e, i) - 1;
        } else if (e[i] == open) {
            ++depth;
        } else if (e[i] == close && --depth == 0) {
            return i + 1;
        }
    }
    return e.size();
}

// The metric names a PromQL expression reads: its identifiers that are not a
// function or aggregation (followed by "("), a keyword, a label of a
// by/without/on/ignoring/group_* list, nor inside a matcher {…}, a range […],
// a string or a $variable.
std::set<std::string> metric_names(std::string_view e) {
    // Aggregation operators take their by/without clause before or after
    // their parentheses ("sum by (le) (…)"): never a metric.
    static const std::set<std::string, std::less<>> k_keywords{
        "by",           "without", "on",     "ignoring", "group_left", "group_right", "bool",
        "and",          "or",      "unless", "offset",   "inf",        "nan",         "sum",
        "min",          "max",     "avg",    "group",    "stddev",     "stdvar",      "count",
        "count_values", "bottomk", "topk",   "quantile", "limitk",     "limit_ratio"};
    static const std::set<std::string, std::less<>> k_label_lists{
        "by", "without", "on", "ignoring", "group_left", "group_right"};
    std::set<std::string> names;
    std::size_t i = 0;
    while (i < e.size()) {
        const char c = e[i];
        if (c == '"' || c == '\'' || c == '`' || c == '{' || c == '[') {
            i = skip_group(e, i);
        } else if (c == '$') {
            for (++i; i < e.size() && ident_char(e[i]); ++i) {
            }
        } else if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
            for (; i < e.size() &&
                   (std::isalnum(static_cast<unsigned char>(e[i])) != 0 || e[i] == '.');
                 ++i) {
            }
        } else if (ident_start(c)) {
            const auto start = i;
            for (; i < e.size() && ident_char(e[i]); ++i) {
            }
            const auto word = e.substr(start, i - start);
            auto next = i;
            while (next < e.size() && e[next] == ' ') {
                ++next;
            }
            const bool call = next < e.size() && e[next] == '(';
            if (k_label_lists.contains(word)) {
                if (call) {
                    i = skip_group(e, next);
                }
            } else if (!call && !k_keywords.contains(word)) {
                names.emplace(word);
            }
        } else {
            ++i;
        }
    }
    return names;
}

// Every PromQL expression of a Grafana dashboard: its panels' targets (rows
// included) and its query variables' definitions.
void collect_expressions(const json& panels, std::vector<std::string>& out) {
    for (const auto& panel : panels) {
        for (const auto& target : panel.value("targets", json::array())) {
            if (target.contains("expr")) {
                out.push_back(target["expr"].get<std::string>());
            }
        }
        collect_expressions(panel.value("panels", json::array()), out);
    }
}

std::vector<std::string> dashboard_expressions(const json& dashboard) {
    std::vector<std::string> out;
    collect_expressions(dashboard.at("panels"), out);
    for (const auto& v : dashboard.at("templating").at("list")) {
        if (v.value("type", "") == "query") {
            const auto& q = v.at("query");
            out.push_back(q.is_string() ? q.get<std::string>() : q.at("query").get<std::string>());
        }
    }
    return out;
}

json read_dashboard() {
    std::ifstream in(std::string(PB_SOURCE_DIR) + "/packaging/grafana/pb-dashboard.json");
    return json::parse(in);
}

// Whether the exposition `text` has a sample of `name` (any labels).
bool has_sample(const std::string& text, const std::string& name) {
    return text.find("\n" + name + "{") != std::string::npos ||
           text.find("\n" + name + " ") != std::string::npos;
}

// The value of the sample written exactly `series` ("name{labels}"), or -1.
double sample(const std::string& text, const std::string& series) {
    const auto at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// Every metric the dashboard's expressions read has a sample in `text`.
void expect_dashboard_metrics(const std::string& text) {
    std::set<std::string> names;
    for (const auto& e : dashboard_expressions(read_dashboard())) {
        for (const auto& n : metric_names(e)) {
            names.insert(n);
        }
    }
    names.erase("instance");  // label_values(pb_build_info, instance): a label
    EXPECT_GE(names.size(), 25u);
    for (const auto& n : names) {
        EXPECT_TRUE(has_sample(text, n)) << n << " is not in /metrics:\n" << text;
    }
}

// A short workload touching every part the dashboard shows: keys (a write,
// verifies valid and not), tokens (issue, verify valid and not), a limit
// check, the gate (allowed and refused), a bad credential on a route.
// Returns the key it created (its text must never reach /metrics).
std::string run_workload(const RunningDaemon& pbd) {
    const auto admin = pbd.bootstrap_key();
    auto c = pbd.client();
    const auto key = created_key(pbd, admin, {{"owner", "ci"}, {"permissions", {"deploy:read"}}});
    const auto verify = [&](const std::string& k) {
        return c->Post("/v1/keys/verify", json{{"key", k}}.dump(), "application/json");
    };
    EXPECT_EQ(body_json(verify(key["key"].get<std::string>()))["valid"], true);
    EXPECT_EQ(body_json(verify("pb_nope"))["valid"], false);
    const auto token = body_json(
        c->Post("/v1/tokens", bearer(admin), json{{"sub", "user-1"}}.dump(), "application/json"));
    EXPECT_TRUE(token.contains("access_token")) << token;
    const auto tverify = [&](const std::string& t) {
        return body_json(c->Post("/v1/tokens/verify", bearer(admin), json{{"token", t}}.dump(),
                                 "application/json"));
    };
    EXPECT_EQ(tverify(token.value("access_token", std::string()))["valid"], true);
    EXPECT_EQ(tverify("a.b.c")["valid"], false);
    EXPECT_EQ(
        status_of(c->Post("/v1/limits/check", bearer(admin),
                          json{{"scope", "user"}, {"id", "alice"}}.dump(), "application/json")),
        200);
    EXPECT_EQ(status_of(c->Get("/v1/auth", bearer(key["key"].get<std::string>()))), 200);
    EXPECT_EQ(status_of(c->Get("/v1/auth")), 401);
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer("pb_notakey"))), 401);
    return key.value("key", std::string());
}

// Pins: the parser finds the metrics of the shapes the dashboard uses, and
// nothing else (functions, label lists, matchers, ranges, variables).
TEST(DashboardPromql, MetricNamesOfAnExpression) {
    EXPECT_EQ(
        metric_names(
            R"(sum by (route) (rate(pb_http_requests_total{instance=~"$instance"}[$__rate_interval])))"),
        std::set<std::string>{"pb_http_requests_total"});
    EXPECT_EQ(
        metric_names(
            R"(histogram_quantile(0.99, sum by (le, dialect) (rate(pb_db_query_duration_seconds_bucket{a="}{"}[5m]))))"),
        std::set<std::string>{"pb_db_query_duration_seconds_bucket"});
    EXPECT_EQ(metric_names("process_open_fds / on (instance) group_left (x) process_max_fds"),
              (std::set<std::string>{"process_max_fds", "process_open_fds"}));
    EXPECT_EQ(metric_names("sum(rate(a_total[1m])) without (x) / max by (y) (b)"),
              (std::set<std::string>{"a_total", "b"}));
    EXPECT_EQ(metric_names("time() - process_start_time_seconds offset 5m"),
              std::set<std::string>{"process_start_time_seconds"});
    EXPECT_EQ(metric_names("label_values(pb_build_info, instance)"),
              (std::set<std::string>{"instance", "pb_build_info"}));
}

// Pins: the dashboard is a Grafana dashboard (title, uid, schemaVersion,
// panels with a gridPos and PromQL targets on the $datasource variable).
TEST(DashboardPromql, DashboardHasGrafanasShape) {
    const auto d = read_dashboard();
    EXPECT_FALSE(d.at("title").get<std::string>().empty());
    EXPECT_FALSE(d.at("uid").get<std::string>().empty());
    EXPECT_GE(d.at("schemaVersion").get<int>(), 36);
    std::set<int> ids;
    int with_targets = 0;
    for (const auto& p : d.at("panels")) {
        EXPECT_TRUE(p.contains("gridPos") && p["gridPos"].contains("w") &&
                    p["gridPos"].contains("h"))
            << p;
        EXPECT_TRUE(ids.insert(p.at("id").get<int>()).second) << "duplicate panel id " << p["id"];
        if (p.at("type") != "row") {
            ASSERT_FALSE(p.value("targets", json::array()).empty()) << p["title"];
            EXPECT_EQ(p.at("datasource").at("uid"), "${datasource}") << p["title"];
            ++with_targets;
        }
    }
    EXPECT_GE(with_targets, 20);
    EXPECT_GE(dashboard_expressions(d).size(), 30u);
}

// Pins: every metric a dashboard expression reads appears in a real pbd's
// /metrics after a short workload (label_values' "instance" is Prometheus');
// no credential of the workload is in it (labels are fixed lists).
TEST(DaemonMetrics, EveryDashboardMetricAppearsAfterAWorkload) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto key = run_workload(pbd);
    const auto res = pbd.client()->Get("/metrics");
    ASSERT_EQ(status_of(res), 200);
    ASSERT_FALSE(key.empty());
    EXPECT_EQ(res->body.find(key.substr(0, 16)), std::string::npos);
    EXPECT_EQ(res->body.find("pb_notakey"), std::string::npos);
    EXPECT_EQ(res->body.find(pbd.bootstrap_key().substr(0, 16)), std::string::npos);
    expect_dashboard_metrics(res->body);
}

// Pins: on PostgreSQL too (the store in its module), with the dialect
// "postgres" and the statements of the workload counted.
TEST(DaemonMetrics, EveryDashboardMetricAppearsOnPostgres) {
    TempDir dir;
    TestDb db{Backend::postgres};
    RunningDaemon pbd(dir,
                      {.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")}}, .db = db.url()});
    run_workload(pbd);
    const auto text = pbd.client()->Get("/metrics")->body;
    expect_dashboard_metrics(text);
    EXPECT_GT(sample(text, R"(pb_db_query_duration_seconds_count{dialect="postgres"})"), 0) << text;
    EXPECT_GT(sample(text, R"(pb_db_pool_connections{dialect="postgres"})"), 0) << text;
    // pbd's own background readers (the outbox tailer, the scrape's lag query)
    // may hold a connection at the moment of the scrape: in use, never more
    // than the pool.
    const auto in_use = sample(text, R"(pb_db_pool_in_use{dialect="postgres"})");
    EXPECT_GE(in_use, 0) << text;
    EXPECT_LE(in_use, sample(text, R"(pb_db_pool_connections{dialect="postgres"})")) << text;
}

// Pins: the outcomes are counted by reason, once each, on the surface that
// judged them: keys.verify, tokens.verify, credentials on routes and the
// gate, limits.check; and the database's statements and transactions.
TEST(DaemonMetrics, OutcomesCountTheWorkloadByReason) {
    TempDir dir;
    RunningDaemon pbd(dir);
    run_workload(pbd);
    const auto text = pbd.client()->Get("/metrics")->body;
    EXPECT_EQ(sample(text, R"(pb_key_verify_total{outcome="valid"})"), 1) << text;
    EXPECT_EQ(sample(text, R"(pb_key_verify_total{outcome="malformed"})") +
                  sample(text, R"(pb_key_verify_total{outcome="unknown"})"),
              1)
        << text;
    EXPECT_EQ(sample(text, R"(pb_key_verify_total{outcome="revoked"})"), 0) << text;
    EXPECT_EQ(sample(text, R"(pb_token_verify_total{outcome="valid"})"), 1) << text;
    EXPECT_EQ(sample(text, R"(pb_token_verify_total{outcome="malformed"})"), 1) << text;
    EXPECT_GE(sample(text, R"(pb_limit_checks_total{scope="user",outcome="allowed"})"), 1) << text;
    EXPECT_EQ(sample(text, R"(pb_gate_decisions_total{decision="allow",reason="allowed"})"), 1)
        << text;
    EXPECT_EQ(sample(text, R"(pb_gate_decisions_total{decision="deny",reason="missing"})"), 1)
        << text;
    EXPECT_EQ(sample(text, R"(pb_credential_checks_total{kind="none",outcome="missing"})"), 1)
        << text;
    EXPECT_GE(sample(text, R"(pb_credential_checks_total{kind="key",outcome="malformed"})") +
                  sample(text, R"(pb_credential_checks_total{kind="key",outcome="unknown"})"),
              1)
        << text;
    EXPECT_GE(sample(text, R"(pb_credential_checks_total{kind="key",outcome="valid"})"), 4) << text;
    EXPECT_GT(sample(text, R"(pb_db_query_duration_seconds_count{dialect="sqlite"})"), 0) << text;
    EXPECT_GT(sample(text, R"(pb_db_transaction_duration_seconds_count{dialect="sqlite"})"), 0)
        << text;
    EXPECT_EQ(sample(text, R"(pb_db_query_duration_seconds_bucket{dialect="sqlite",le="+Inf"})"),
              sample(text, R"(pb_db_query_duration_seconds_count{dialect="sqlite"})"))
        << text;
    // A background reader (the outbox tail) may hold a connection at the scrape.
    EXPECT_GE(sample(text, R"(pb_db_pool_in_use{dialect="sqlite"})"), 0) << text;
    EXPECT_LE(sample(text, R"(pb_db_pool_in_use{dialect="sqlite"})"),
              sample(text, R"(pb_db_pool_connections{dialect="sqlite"})"))
        << text;
    EXPECT_EQ(sample(text, R"(pb_db_retries_total{dialect="sqlite"})"), 0) << text;
    // The key and the token wrote events; the tail hands them on.
    EXPECT_GE(sample(text, "pb_events_newest_seq"), 1) << text;
    EXPECT_GE(sample(text, "pb_events_lag"), 0) << text;
}

// Pins: process_* describe pbd's own process (not the test's): its open
// descriptors and limit, memory, and a start time between the test's start
// and now.
TEST(DaemonMetrics, ProcessMetricsDescribePbd) {
    const auto before = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto text = pbd.client()->Get("/metrics")->body;
    const auto after = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    EXPECT_GT(sample(text, "process_open_fds"), 3) << text;
    EXPECT_GE(sample(text, "process_max_fds"), sample(text, "process_open_fds")) << text;
    EXPECT_GT(sample(text, "process_resident_memory_bytes"), 1 << 20) << text;
    EXPECT_GE(sample(text, "process_virtual_memory_bytes"),
              sample(text, "process_resident_memory_bytes"))
        << text;
    EXPECT_GE(sample(text, "process_cpu_seconds_total"), 0) << text;
    // btime and the start tick are whole seconds and ticks: allow one second.
    EXPECT_GE(sample(text, "process_start_time_seconds"), static_cast<double>(before - 1)) << text;
    EXPECT_LE(sample(text, "process_start_time_seconds"), static_cast<double>(after + 1)) << text;
}

}  // namespace
}  // namespace pb::test
