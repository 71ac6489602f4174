#include "common/keys/identity.hpp"

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/schema.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;
using store::Connection;
using store::nullable;

// "SELECT <columns> FROM identities <tail>" (appended, not added with +:
// GCC 12 warns falsely on chains of std::string +).
std::string select_sql(std::string_view tail) {
    std::string sql =
        "SELECT id, metadata, limits, remaining, refill, last_refill_at, created_at, created_by, "
        "updated_at FROM identities ";
    sql.append(tail);
    return sql;
}

IdentityRecord from_row(const store::Row& r) {
    IdentityRecord i;
    i.id = r.get_text(0);
    i.metadata = parse_json(r.get_text(1), "stored identity metadata", {k_max_stored_json_depth});
    i.limits = limits_from_stored(r.get_text(2));
    i.remaining = r.get_opt_int(3);
    if (const auto refill = r.get_opt_text(4)) {
        i.refill = parse_refill(*refill, "refill");
    }
    i.last_refill_at = r.get_opt_int(5);
    i.created_at = r.get_int(6);
    i.created_by = r.get_text(7);
    i.updated_at = r.get_int(8);
    return i;
}

std::optional<std::string> refill_text(const std::optional<Refill>& r) {
    return r ? std::optional<std::string>(r->text()) : std::nullopt;
}

}  // namespace

json IdentityRecord::to_json() const {
    return {{"id", id},
            {"metadata", metadata},
            {"limits", limits_json(limits)},
            {"remaining", remaining ? json(*remaining) : json(nullptr)},
            {"refill", refill ? json(refill->text()) : json(nullptr)},
            {"last_refill_at", time_or_null(last_refill_at)},
            {"created_at", format_rfc3339(created_at)},
            {"created_by", created_by},
            {"updated_at", format_rfc3339(updated_at)}};
}

json IdentityRecord::schema() {
    using namespace ops::schema;
    using ops::schema::nullable;
    return named("Identity",
                 object({{"id", string("The identity's id, chosen by its creator")},
                         {"metadata", free_object()},
                         {"limits", array(NamedLimit::schema())},
                         {"remaining", nullable(integer("Credits left, shared by its keys"))},
                         {"refill", nullable(string("N/day, N/month or N/month@DAY"))},
                         {"last_refill_at", nullable(time())},
                         {"created_at", time()},
                         {"created_by", string()},
                         {"updated_at", time()}}));
}

void check_identity_id(std::string_view id) {
    if (id.empty() || id.size() > 200) {
        throw Error(ErrorCode::invalid_argument, "id: 1 to 200 characters", {{"param", "id"}});
    }
    for (unsigned char c : id) {
        if (c < 0x21 || c == 0x7F || c == '/') {
            throw Error(ErrorCode::invalid_argument,
                        "id: spaces, '/' and control characters are not allowed",
                        {{"param", "id"}});
        }
    }
}

namespace identity_rows {

std::optional<IdentityRecord> load(Connection& c, std::string_view id) {
    const auto rows = c.query(select_sql("WHERE id = $1"), {std::string(id)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return from_row(rows.front());
}

IdentityRecord load_or_throw(Connection& c, std::string_view id) {
    auto i = load(c, id);
    if (!i) {
        throw Error(ErrorCode::not_found, "no identity \"" + std::string(id) + "\"",
                    {{"identity", id}});
    }
    return std::move(*i);
}

void insert(Connection& c, const IdentityRecord& r) {
    c.exec(
        "INSERT INTO identities (id, metadata, limits, remaining, refill, last_refill_at, "
        "created_at, created_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {r.id, r.metadata.dump(), stored_limits(r.limits), nullable(r.remaining),
         nullable(refill_text(r.refill)), nullable(r.last_refill_at), r.created_at, r.created_by,
         r.updated_at});
}

void update(Connection& c, const IdentityRecord& r) {
    c.exec(
        "UPDATE identities SET metadata = $2, limits = $3, remaining = $4, refill = $5, "
        "last_refill_at = $6, updated_at = $7 WHERE id = $1",
        {r.id, r.metadata.dump(), stored_limits(r.limits), nullable(r.remaining),
         nullable(refill_text(r.refill)), nullable(r.last_refill_at), r.updated_at});
}

std::vector<IdentityRecord> page(Connection& c, const std::optional<std::string>& after_id,
                                 std::int64_t limit) {
    const auto rows =
        after_id ? c.query(select_sql("WHERE id > $1 ORDER BY id LIMIT $2"), {*after_id, limit})
                 : c.query(select_sql("ORDER BY id LIMIT $1"), {limit});
    std::vector<IdentityRecord> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(from_row(r));
    }
    return out;
}

void remove(Connection& c, std::string_view id) {
    c.exec("DELETE FROM identities WHERE id = $1", {std::string(id)});
}

}  // namespace identity_rows
}  // namespace pb::keys
