#include "common/actions/catalog.hpp"

#include <sys/stat.h>

#include "common/core/error.hpp"
#include "common/core/log.hpp"

namespace pb::actions {
namespace {

namespace fs = std::filesystem;

std::string stat_text(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
        return p.string() + ":-;";
    }
    return p.string() + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size) + ";";
}

}  // namespace

CatalogSettings catalog_settings_from_config(const Config& config) {
    CatalogSettings s;
    const auto& text = config.get("actions.paths");
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(',', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        auto item = text.substr(start, end - start);
        const auto first = item.find_first_not_of(" \t");
        const auto last = item.find_last_not_of(" \t");
        if (first != std::string::npos) {
            s.paths.emplace_back(item.substr(first, last - first + 1));
        }
        start = end + 1;
    }
    const auto max = config.get_int("actions.max_concurrent");
    if (max < 1) {
        throw Error(ErrorCode::invalid_argument, "actions.max_concurrent: must be at least 1");
    }
    s.max_concurrent = static_cast<int>(max);
    s.kill_grace = std::chrono::milliseconds(config.get_duration_ms("actions.kill_grace"));
    return s;
}

Catalog::Catalog(CatalogSettings settings, OpHost host)
    : m_settings(std::move(settings)), m_host(std::move(host)) {
    reload();
}

void Catalog::reload() {
    // The fingerprint first: a change during the scan triggers another one.
    auto print = fingerprint();
    auto loaded = std::make_shared<const Loaded>(
        load_paths(m_settings->paths, m_host.table ? &m_host.table() : nullptr));
    auto log = log::get("actions");
    for (const auto& p : loaded->problems) {
        log->warn("action file skipped: {}", p.to_string());
    }
    log->info("{} action(s) loaded from {} file(s)", loaded->actions.size(), loaded->files.size());
    std::lock_guard lock(m_mutex);
    m_loaded = std::move(loaded);
    m_fingerprint = std::move(print);
}

void Catalog::reload(CatalogSettings settings) {
    m_settings.swap(std::move(settings));
    reload();
}

bool Catalog::reload_if_changed() {
    const auto print = fingerprint();
    {
        std::lock_guard lock(m_mutex);
        if (print == m_fingerprint) {
            return false;
        }
    }
    log::get("actions")->info("action files changed; reloading");
    reload();
    return true;
}

std::string Catalog::fingerprint() const {
    std::string out;
    for (const auto& path : m_settings->paths) {
        out += stat_text(path);
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            std::vector<Problem> ignored;
            for (const auto& f : action_files(path, ignored)) {
                out += stat_text(f);
            }
        }
    }
    return out;
}

std::shared_ptr<const Loaded> Catalog::snapshot() const {
    std::lock_guard lock(m_mutex);
    return m_loaded;
}

std::shared_ptr<const Action> Catalog::find(std::string_view name) const {
    auto snap = snapshot();
    for (const auto& a : snap->actions) {
        if (a.name == name) {
            return std::shared_ptr<const Action>(snap, &a);
        }
    }
    throw Error(ErrorCode::not_found, "no action \"" + std::string(name) + "\"",
                {{"action", name}});
}

Catalog::Slot Catalog::acquire() {
    const int max = m_settings->max_concurrent;
    if (m_running.fetch_add(1) >= max) {
        m_running.fetch_sub(1);
        throw Error(ErrorCode::unavailable,
                    "too many actions running (actions.max_concurrent is " + std::to_string(max) +
                        "); try again",
                    {{"max_concurrent", max}});
    }
    return Slot(m_running);
}

}  // namespace pb::actions
