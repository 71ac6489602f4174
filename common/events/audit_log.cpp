#include "common/events/audit_log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "common/core/crypto.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/log.hpp"
#include "common/core/time_format.hpp"

namespace pb::events {
namespace {

using nlohmann::json;

constexpr std::int64_t k_page = 1000;
constexpr std::size_t k_problems_in_message = 10;

struct Head {
    std::int64_t last_seq = 0;
    std::string last_hmac;
    std::int64_t pruned_seq = 0;
    std::string pruned_hmac;
    std::optional<std::int64_t> pruned_at;
    std::string head_hmac;
};

Head read_head(store::Connection& c, bool lock) {
    const auto rows = c.query(
        std::string("SELECT last_seq, last_hmac, pruned_seq, pruned_hmac, pruned_at, head_hmac "
                    "FROM audit_chain WHERE id = 1") +
        (lock && c.dialect() == store::Dialect::postgresql ? " FOR UPDATE" : ""));
    if (rows.empty()) {
        throw Error(ErrorCode::conflict, "audit log: the chain head (audit_chain) is missing");
    }
    const auto& r = rows.front();
    return Head{r.get_int(0),  r.get_text(1),    r.get_int(2),
                r.get_text(3), r.get_opt_int(4), r.get_text(5)};
}

struct ChainRow {
    std::int64_t id;
    std::int64_t seq;
    std::int64_t at;
    AuditRecord record;
    std::string hmac;
};

std::vector<ChainRow> chain_page(store::Connection& c, std::int64_t after_seq,
                                 std::int64_t up_to_seq) {
    std::vector<ChainRow> out;
    for (const auto& r : c.query(
             "SELECT id, seq, at, actor, op, target, outcome, args, hmac FROM audit_log WHERE seq "
             "IS NOT NULL AND seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
             {after_seq, up_to_seq, k_page})) {
        out.push_back(ChainRow{
            r.get_int(0), r.get_int(1), r.get_int(2),
            AuditRecord{r.get_text(3), r.get_text(4), r.get_text(5), r.get_text(6), r.get_text(7)},
            r.get_opt_text(8).value_or("")});
    }
    return out;
}

json problem(const ChainRow& row, std::string what) {
    return json{{"id", row.id}, {"seq", row.seq}, {"problem", std::move(what)}};
}

}  // namespace

AuditLog::AuditLog(store::Store& store, const Clock& clock, std::function<const SecretBox&()> box,
                   AuditOptions options)
    : m_store(store), m_clock(clock), m_box(std::move(box)), m_options(std::move(options)) {}

const AuditLog::Keys& AuditLog::keys() {
    std::call_once(m_keys_once, [&] {
        const auto& box = m_box();
        m_keys = Keys{box.derive_key("audit.chain"), box.derive_key("audit.value")};
    });
    return *m_keys;
}

std::string AuditLog::row_hmac(std::int64_t seq, std::int64_t at, const AuditRecord& r,
                               std::string_view prev) {
    // A JSON array: each field delimited, so no two rows serialise alike.
    const auto text =
        json::array({seq, at, r.actor, r.op, r.target, r.outcome, r.args, std::string(prev)})
            .dump(-1, ' ', false, json::error_handler_t::replace);
    return crypto::to_hex(crypto::hmac_sha256(keys().chain, text));
}

std::string AuditLog::head_hmac(std::int64_t last_seq, std::string_view last_hmac,
                                std::int64_t pruned_seq, std::string_view pruned_hmac) {
    const auto text = json::array({"head", last_seq, std::string(last_hmac), pruned_seq,
                                   std::string(pruned_hmac)})
                          .dump();
    return crypto::to_hex(crypto::hmac_sha256(keys().chain, text));
}

std::string AuditLog::value_hash(std::string_view value) {
    return "hmac-sha256:" + crypto::to_hex(crypto::hmac_sha256(keys().value, value));
}

json AuditLog::hash_values(const json& value) {
    if (value.is_string()) {
        return value_hash(value.get<std::string>());
    }
    if (value.is_object() || value.is_array()) {
        json out = value;
        for (auto it = out.begin(); it != out.end(); ++it) {
            *it = hash_values(*it);
        }
        return out;
    }
    // A number or boolean as its JSON text: still answerable by `audit hash`.
    return value.is_null() ? value : json(value_hash(value.dump()));
}

void AuditLog::append(store::Connection& c, const AuditRecord& r) {
    const auto at = m_clock.now();
    const auto head = read_head(c, true);
    const auto seq = head.last_seq + 1;
    const auto hmac = row_hmac(seq, at, r, head.last_hmac);
    c.exec(
        "INSERT INTO audit_log (at, actor, op, target, outcome, args, seq, hmac) VALUES ($1, $2, "
        "$3, $4, $5, $6, $7, $8)",
        {at, r.actor, r.op, r.target, r.outcome, r.args, seq, hmac});
    c.exec("UPDATE audit_chain SET last_seq = $1, last_hmac = $2, head_hmac = $3 WHERE id = 1",
           {seq, hmac, head_hmac(seq, hmac, head.pruned_seq, head.pruned_hmac)});
    if (!m_options.file.empty()) {
        json args;
        try {
            args = parse_json(r.args, "audit args");
        } catch (const Error&) {
            args = json(r.args);  // kept as the text it is
        }
        c.after_commit([this, line = json{{"seq", seq},
                                          {"at", format_rfc3339(at)},
                                          {"actor", r.actor},
                                          {"op", r.op},
                                          {"target", r.target},
                                          {"outcome", r.outcome},
                                          {"args", std::move(args)},
                                          {"hmac", hmac}}] { write_line(line); });
    }
}

void AuditLog::record(const AuditRecord& r) {
    m_store.transaction([&](store::Connection& c) { append(c, r); });
}

void AuditLog::write_line(const json& line) const {
    const auto text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    const int fd = ::open(m_options.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log::get("audit")->error("audit.file {}: {}", m_options.file, std::strerror(errno));
        return;
    }
    // O_APPEND: one write per line, so processes sharing the file never interleave.
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        log::get("audit")->error("audit.file {}: short write", m_options.file);
    }
    ::close(fd);
}

json AuditLog::verify() {
    json problems = json::array();
    std::int64_t checked = 0;
    std::int64_t unchained = 0;
    Head head;
    m_store.transaction(
        [&](store::Connection& c) {
            problems = json::array();  // a retried transaction starts over
            checked = unchained = 0;
            head = read_head(c, false);
            const bool fresh = head.last_seq == 0 && head.pruned_seq == 0 &&
                               head.last_hmac.empty() && head.head_hmac.empty();
            if (!fresh && !crypto::constant_time_equal(
                              head.head_hmac, head_hmac(head.last_seq, head.last_hmac,
                                                        head.pruned_seq, head.pruned_hmac))) {
                problems.push_back({{"id", nullptr},
                                    {"seq", nullptr},
                                    {"problem",
                                     "the chain head (audit_chain) was changed: its HMAC does not "
                                     "match its last and pruned positions"}});
            }
            // Rows from before the chain (migration 13) have no seq; one
            // without a seq after the first chained row was inserted by hand.
            const auto first = c.query("SELECT MIN(id) FROM audit_log WHERE seq IS NOT NULL");
            const auto first_id = first.front().get_opt_int(0);
            for (const auto& r :
                 c.query("SELECT id FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT 100000")) {
                if (first_id && r.get_int(0) > *first_id) {
                    problems.push_back({{"id", r.get_int(0)},
                                        {"seq", nullptr},
                                        {"problem",
                                         "inserted: a row without a place in the chain, "
                                         "after the chain started"}});
                } else {
                    ++unchained;
                }
            }
            std::int64_t expected = head.pruned_seq + 1;
            std::string prev = head.pruned_hmac;
            std::int64_t last_id = 0;
            const auto before = c.query(
                "SELECT id, seq FROM audit_log WHERE seq IS NOT NULL AND seq <= $1 ORDER BY seq",
                {head.pruned_seq});
            for (const auto& r : before) {
                problems.push_back({{"id", r.get_int(0)},
                                    {"seq", r.get_int(1)},
                                    {"problem", "inserted: at or before the pruned head (seq " +
                                                    std::to_string(head.pruned_seq) + ")"}});
            }
            for (std::int64_t after = head.pruned_seq;;) {
                const auto page = chain_page(c, after, INT64_MAX);
                for (const auto& row : page) {
                    ++checked;
                    after = row.seq;
                    if (row.seq > head.last_seq) {
                        problems.push_back(problem(row, "inserted: beyond the chain head (seq " +
                                                            std::to_string(head.last_seq) + ")"));
                        continue;
                    }
                    if (row.seq > expected) {
                        problems.push_back(
                            {{"id", nullptr},
                             {"seq", expected},
                             {"problem",
                              "removed: rows seq " + std::to_string(expected) + ".." +
                                  std::to_string(row.seq - 1) + " are missing (before id " +
                                  std::to_string(row.id) +
                                  (last_id ? ", after id " + std::to_string(last_id) : "") + ")"}});
                        // Its predecessor is gone: its own HMAC cannot be checked.
                    } else if (!crypto::constant_time_equal(
                                   row.hmac, row_hmac(row.seq, row.at, row.record, prev))) {
                        problems.push_back(problem(row,
                                                   "changed: its HMAC does not match its "
                                                   "content and its predecessor's"));
                    }
                    prev = row.hmac;
                    expected = row.seq + 1;
                    last_id = row.id;
                }
                if (static_cast<std::int64_t>(page.size()) < k_page) {
                    break;
                }
            }
            if (expected <= head.last_seq) {
                problems.push_back({{"id", nullptr},
                                    {"seq", expected},
                                    {"problem", "removed: rows seq " + std::to_string(expected) +
                                                    ".." + std::to_string(head.last_seq) +
                                                    " are missing (the chain head is seq " +
                                                    std::to_string(head.last_seq) + ")"}});
            } else if (head.last_seq > head.pruned_seq &&
                       !crypto::constant_time_equal(prev, head.last_hmac)) {
                problems.push_back({{"id", last_id},
                                    {"seq", head.last_seq},
                                    {"problem",
                                     "changed: the newest row's HMAC is not the one the "
                                     "chain head recorded"}});
            }
        },
        // One snapshot of head and rows: PostgreSQL's read mode gives each
        // statement its own (and SQLite's serializable would stop writers).
        m_store.dialect() == store::Dialect::postgresql ? store::TxMode::serializable
                                                        : store::TxMode::read);
    if (!problems.empty()) {
        std::string message = "audit log tampered: " + std::to_string(problems.size()) +
                              (problems.size() == 1 ? " problem" : " problems");
        for (std::size_t i = 0; i < problems.size() && i < k_problems_in_message; ++i) {
            const auto& p = problems[i];
            message += i == 0 ? ": " : "; ";
            if (!p["id"].is_null()) {
                message += "id " + std::to_string(p["id"].get<std::int64_t>()) + " ";
            }
            if (!p["seq"].is_null()) {
                message += "(seq " + std::to_string(p["seq"].get<std::int64_t>()) + ") ";
            }
            message += p["problem"].get<std::string>();
        }
        throw Error(ErrorCode::conflict, message, {{"problems", problems}, {"checked", checked}});
    }
    return json{{"ok", true},
                {"checked", checked},
                {"unchained", unchained},
                {"head", {{"seq", head.last_seq}, {"hmac", head.last_hmac}}},
                {"pruned",
                 {{"seq", head.pruned_seq},
                  {"at", head.pruned_at ? json(format_rfc3339(*head.pruned_at)) : json(nullptr)}}}};
}

std::int64_t AuditLog::prune(std::int64_t before_ms) {
    return m_store.transaction([&](store::Connection& c) -> std::int64_t {
        const auto head = read_head(c, true);
        // The newest row stays: it is what the head points at.
        const auto last =
            c.query("SELECT MAX(seq) FROM audit_log WHERE seq IS NOT NULL AND seq < $1 AND at < $2",
                    {head.last_seq, before_ms});
        const auto upto = last.front().get_opt_int(0);
        std::int64_t deleted = 0;
        if (upto && *upto > head.pruned_seq) {
            // Check what is about to go: retention must not wipe out evidence.
            std::int64_t expected = head.pruned_seq + 1;
            std::string prev = head.pruned_hmac;
            for (std::int64_t after = head.pruned_seq; after < *upto;) {
                const auto page = chain_page(c, after, *upto);
                if (page.empty()) {
                    break;
                }
                for (const auto& row : page) {
                    if (row.seq != expected ||
                        !crypto::constant_time_equal(row.hmac,
                                                     row_hmac(row.seq, row.at, row.record, prev))) {
                        throw Error(ErrorCode::conflict,
                                    "audit retention: not pruning a tampered chain (id " +
                                        std::to_string(row.id) + ", seq " +
                                        std::to_string(row.seq) + "); run `pbctl audit verify`");
                    }
                    prev = row.hmac;
                    expected = row.seq + 1;
                    after = row.seq;
                }
            }
            if (expected != *upto + 1) {
                throw Error(ErrorCode::conflict,
                            "audit retention: not pruning a tampered chain (rows missing before "
                            "seq " +
                                std::to_string(*upto + 1) + "); run `pbctl audit verify`");
            }
            deleted = c.exec("DELETE FROM audit_log WHERE seq IS NOT NULL AND seq <= $1", {*upto});
            c.exec(
                "UPDATE audit_chain SET pruned_seq = $1, pruned_hmac = $2, pruned_at = $3, "
                "head_hmac = $4 WHERE id = 1",
                {*upto, prev, m_clock.now(),
                 head_hmac(head.last_seq, head.last_hmac, *upto, prev)});
        }
        // Rows from before the chain go by age alone.
        deleted += c.exec(
            "DELETE FROM audit_log WHERE seq IS NULL AND at < $1 AND id < COALESCE("
            "(SELECT MIN(id) FROM audit_log WHERE seq IS NOT NULL), $2)",
            {before_ms, INT64_MAX});
        return deleted;
    });
}

}  // namespace pb::events
