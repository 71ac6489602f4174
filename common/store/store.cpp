#include "common/store/store.hpp"

#include "common/core/error.hpp"
#include "common/store/pg_store.hpp"
#include "common/store/sqlite_store.hpp"

namespace pb::store {

bool Row::is_null(std::size_t i) const {
    return std::holds_alternative<std::nullptr_t>(m_cells.at(i));
}

std::int64_t Row::get_int(std::size_t i) const {
    const auto& v = m_cells.at(i);
    if (const auto* p = std::get_if<std::int64_t>(&v)) {
        return *p;
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return static_cast<std::int64_t>(*d);
    }
    if (const auto* s = std::get_if<std::string>(&v)) {
        return std::stoll(*s);
    }
    throw Error(ErrorCode::internal,
                "NULL where an integer was expected (column " + std::to_string(i) + ")");
}

double Row::get_double(std::size_t i) const {
    const auto& v = m_cells.at(i);
    if (const auto* d = std::get_if<double>(&v)) {
        return *d;
    }
    return static_cast<double>(get_int(i));
}

const std::string& Row::get_text(std::size_t i) const {
    const auto& v = m_cells.at(i);
    if (const auto* s = std::get_if<std::string>(&v)) {
        return *s;
    }
    throw Error(ErrorCode::internal,
                "non-text value where text was expected (column " + std::to_string(i) + ")");
}

std::optional<std::int64_t> Row::get_opt_int(std::size_t i) const {
    if (is_null(i)) {
        return std::nullopt;
    }
    return get_int(i);
}

std::optional<std::string> Row::get_opt_text(std::size_t i) const {
    if (is_null(i)) {
        return std::nullopt;
    }
    return get_text(i);
}

bool Store::changed_elsewhere() {
    const auto token = change_token();
    return m_seen_token.exchange(token) != token;
}

std::unique_ptr<Store> open_store(const std::string& url, const StoreOptions& options) {
    std::string_view u(url);
    if (u.starts_with("postgresql://") || u.starts_with("postgres://")) {
        return std::make_unique<PgStore>(
            pg_target(url, options.password, options.connect_timeout_s), options);
    }
    if (u.starts_with("sqlite://")) {
        u.remove_prefix(9);
    } else if (u.starts_with("sqlite:")) {
        u.remove_prefix(7);
    } else if (u.find("://") != std::string_view::npos) {
        const auto scheme = u.substr(0, u.find("://"));
        throw Error(ErrorCode::invalid_argument, "db.url: unsupported database \"" +
                                                     std::string(scheme) +
                                                     "\" (expected sqlite or postgresql)");
    }
    if (u.empty()) {
        throw Error(ErrorCode::invalid_argument, "db.url: empty database path");
    }
    return std::make_unique<SqliteStore>(std::string(u), options);
}

}  // namespace pb::store
