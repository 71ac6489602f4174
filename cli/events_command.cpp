#include "cli/events_command.hpp"

#include <iostream>
#include <pwd.h>
#include <thread>
#include <unistd.h>

#include "cli/pbd_refusal.hpp"
#include "cli/pbd_socket.hpp"
#include "cli/remote.hpp"
#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/events/tailer.hpp"
#include "common/events/topics.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/services.hpp"

namespace pb::cli {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr auto k_poll_interval = std::chrono::milliseconds(50);

// The group command `name` of `app`, made if the op table did not.
CLI::App* group(CLI::App& app, const std::string& name, const std::string& help) {
    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        if (sub->get_name() == name) {
            return sub;
        }
    }
    auto* g = app.add_subcommand(name, help);
    g->require_subcommand(1);
    return g;
}

void add_stream_options(CLI::App& cmd, std::optional<std::int64_t>& since,
                        std::optional<std::int64_t>& count, std::string& timeout) {
    cmd.add_option("--since", since,
                   "First replay the events after this seq (0: every event kept), then follow")
        ->type_name("SEQ");
    cmd.add_option("--count", count, "Stop after this many events")->type_name("N");
    cmd.add_option("--timeout", timeout,
                   "Stop after this long (\"30s\", \"5m\"); with --count, fewer events by then "
                   "is an error")
        ->type_name("DURATION");
}

// Prints events and tells when to stop.
class Printer {
  public:
    Printer(std::optional<std::int64_t> count, std::optional<Clock::time_point> deadline)
        : m_count(count), m_deadline(deadline) {}

    void print(const json& event) {
        if (done()) {
            return;
        }
        std::cout << event.dump(-1, ' ', false, json::error_handler_t::replace) << '\n'
                  << std::flush;
        ++m_printed;
    }
    bool done() const { return m_count && m_printed >= *m_count; }
    bool expired() const { return m_deadline && Clock::now() >= *m_deadline; }
    // Without --timeout, waits are cut in hours (time_point::max() overflows Asio's arithmetic).
    Clock::time_point deadline() const {
        return m_deadline.value_or(Clock::now() + std::chrono::hours(1));
    }
    bool bounded() const { return m_deadline.has_value(); }

    int finish() const {
        if (m_count && m_printed < *m_count) {
            std::cerr << "pbctl: timed out after " << m_printed << " of " << *m_count
                      << " event(s)\n";
            return exit_code(ErrorCode::unavailable);
        }
        return 0;
    }

  private:
    std::optional<std::int64_t> m_count;
    std::optional<Clock::time_point> m_deadline;
    std::int64_t m_printed = 0;
};

bool wanted(const std::vector<std::string>& patterns, std::string_view topic) {
    for (const auto& p : patterns) {
        if (events::topic_matches(p, topic)) {
            return true;
        }
    }
    return false;
}

int tail_local(const Config& config, const std::vector<std::string>& patterns,
               std::optional<std::int64_t> since, Printer& out) {
    auto services = Services::open(config, SystemClock::instance(), {.pool_size = 1});
    auto& store = services->store();
    const auto start = store.transaction(
        [&](store::Connection& c) {
            if (since) {
                events::check_resume(c, *since);
                return *since;
            }
            return events::latest_seq(c);
        },
        store::TxMode::read);
    events::Tailer tailer(store, start);
    while (!out.done()) {
        tailer.poll([&](const events::Event& e) {
            if (wanted(patterns, e.topic)) {
                out.print(events::to_json(e));
            }
        });
        if (out.done() || out.expired()) {
            break;
        }
        std::this_thread::sleep_for(k_poll_interval);
    }
    return out.finish();
}

int tail_remote(const Config& config, const std::vector<std::string>& patterns,
                std::optional<std::int64_t> since, Printer& out) {
    const auto& api_key = config.get("cli.api_key");
    PbdSocket client(config.get("cli.server"), api_key,
                     std::chrono::milliseconds(config.get_duration_ms("cli.timeout")));
    json args{{"topics", patterns}};
    if (since) {
        args["since"] = *since;
    }
    client.send({{"id", 1}, {"op", "subscribe"}, {"args", args}});
    while (!out.done()) {
        const auto message = client.receive(out.deadline());
        if (!message) {
            if (out.bounded()) {
                break;
            }
            continue;
        }
        if (message->contains("id")) {
            if (!message->value("ok", false)) {
                throw with_credential_advice(
                    Error::from_json(message->value("error", json::object())), !api_key.empty());
            }
            continue;
        }
        if (message->contains("seq") && message->contains("topic")) {
            out.print(*message);
        }
    }
    return out.finish();
}

constexpr auto k_audit_poll_interval = std::chrono::milliseconds(200);

// The audit rows after `since` (default: the newest now, so only what comes),
// oldest first, through audit.list's after_seq: on the database as the local
// operator, or on pbd's route. Without `follow`, stops when caught up.
int audit_tail(const Config& config, std::optional<std::int64_t> since, bool follow, Printer& out) {
    const auto* op = runtime::op_table().find("audit.list");
    const auto& server = config.get("cli.server");
    std::unique_ptr<Services> services;
    const passwd* pw = getpwuid(geteuid());
    const ops::Caller caller{
        "local:" + std::string(pw != nullptr ? pw->pw_name : std::to_string(geteuid())), {"admin"}};
    const auto list = [&](json args) {
        if (!server.empty()) {
            return call_remote(server, config.get("cli.api_key"),
                               config.get_duration_ms("cli.timeout"), *op, args);
        }
        if (!services) {
            services = Services::open(config, SystemClock::instance(), {.pool_size = 1});
        }
        return runtime::dispatch(*services, *op, args, caller);
    };
    std::int64_t after = 0;
    if (since) {
        after = *since;
    } else {
        const auto newest = list(json{{"limit", 1}});
        for (const auto& e : newest["entries"]) {
            after = e["seq"].is_number_integer() ? e["seq"].get<std::int64_t>() : 0;
        }
    }
    while (!out.done()) {
        const auto page = list(json{{"after_seq", after}, {"limit", 1000}});
        for (const auto& e : page["entries"]) {
            out.print(e);
            after = std::max(after, e["seq"].get<std::int64_t>());
        }
        if (out.done() || out.expired() || (!follow && page["entries"].size() < 1000)) {
            break;
        }
        if (page["entries"].empty()) {
            std::this_thread::sleep_for(k_audit_poll_interval);
        }
    }
    return follow ? out.finish() : 0;
}

}  // namespace

StreamCommands::StreamCommands(CLI::App& app) {
    auto* events = group(app, "events", "Follow the event outbox");
    m_tail = events->add_subcommand(
        "tail", "Print events as JSON lines as they happen (replaying from --since first)");
    m_tail
        ->add_option("--topic", m_topics,
                     "Only this topic (repeatable): \"keys/ID\" exactly, \"keys\" and all under "
                     "it, \"states/user_*\" by prefix [default: every topic]")
        ->type_name("PATTERN")
        ->allow_extra_args(false);
    add_stream_options(*m_tail, m_since, m_count, m_timeout);
    m_tail->footer(
        "Through pbd, subscribing needs \"<group>:read\" for the topics (or \"events:read\").");

    auto* states = group(app, "states", "Manage states");
    m_watch = states->add_subcommand(
        "watch", "Print the changes of one state as JSON lines (the events of states/ID)");
    m_watch->add_option("id", m_state_id, "The state's id")->required()->type_name("");
    add_stream_options(*m_watch, m_since, m_count, m_timeout);
    m_watch->footer("Through pbd, needs the permission \"states:read\".");

    auto* audit = group(app, "audit", "The audit log");
    m_audit_tail = audit->add_subcommand(
        "tail",
        "Print audit rows as JSON lines, oldest first (after --since SEQ, else only new "
        "ones); -f keeps following");
    m_audit_tail->add_flag("-f,--follow", m_follow, "Keep following (poll) for new rows");
    add_stream_options(*m_audit_tail, m_since, m_count, m_timeout);
    m_audit_tail->footer(
        "Through pbd, needs the permission \"admin\". For a log shipper, "
        "audit.file appends the same lines to a file.");
}

bool StreamCommands::selected() const {
    return m_tail->parsed() || m_watch->parsed() || m_audit_tail->parsed();
}

int StreamCommands::run(const Config& config) {
    auto patterns = m_topics;
    if (m_watch->parsed()) {
        patterns = {"states/" + m_state_id};
    } else if (patterns.empty()) {
        patterns = {"*"};
    }
    for (const auto& p : patterns) {
        events::check_pattern(p);
    }
    if (m_count && *m_count < 1) {
        throw Error(ErrorCode::invalid_argument, "--count: must be 1 or more",
                    {{"param", "count"}});
    }
    std::optional<Clock::time_point> deadline;
    if (!m_timeout.empty()) {
        const auto ms = parse_duration(m_timeout);
        if (!ms || *ms <= 0) {
            throw Error(
                ErrorCode::invalid_argument,
                "--timeout: expected a duration such as 30s or 5m, got \"" + m_timeout + "\"",
                {{"param", "timeout"}});
        }
        deadline = Clock::now() + std::chrono::milliseconds(*ms);
    }
    Printer out(m_count, deadline);
    if (m_audit_tail->parsed()) {
        return audit_tail(config, m_since, m_follow, out);
    }
    if (!config.get("cli.server").empty()) {
        return tail_remote(config, patterns, m_since, out);
    }
    return tail_local(config, patterns, m_since, out);
}

}  // namespace pb::cli
