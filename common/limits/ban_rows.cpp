#include "common/limits/ban_rows.hpp"

namespace pb::limits::detail {
namespace {

BanTarget target_from_columns(std::string_view kind, const std::string& value) {
    const auto k = ban_kind_from_string(kind).value_or(BanKind::ip);
    BanTarget t{k, value, std::nullopt};
    if (k == BanKind::ip || k == BanKind::range) {
        t.range = parse_cidr(value);
    }
    return t;
}

}  // namespace

Ban ban_from_row(const store::Row& r) {
    Ban b;
    b.id = r.get_int(0);
    b.target = target_from_columns(r.get_text(1), r.get_text(2));
    b.reason = r.get_text(3);
    b.origin = r.get_text(4) == "auto" ? BanOrigin::auto_ban : BanOrigin::manual;
    b.created_by = r.get_text(5);
    b.created_at = r.get_int(6);
    b.expires_at = r.get_opt_int(7);
    b.strikes = r.get_int(8);
    return b;
}

std::string select_bans(std::string_view where) {
    // Appended piece by piece: GCC 12 reports a false -Warray-bounds on
    // "literal" + std::string(view) + … here.
    std::string sql = "SELECT ";
    sql.append(k_ban_columns).append(" FROM bans WHERE ").append(where);
    return sql;
}

std::optional<Ban> load_ban(store::Connection& c, const BanTarget& t) {
    const auto rows =
        c.query(select_bans("kind = $1 AND value = $2"), {std::string(to_string(t.kind)), t.value});
    if (rows.empty()) {
        return std::nullopt;
    }
    return ban_from_row(rows.front());
}

}  // namespace pb::limits::detail
