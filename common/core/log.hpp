#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace pb::log {

enum class Format { text, json };

// Configures every pb logger: level ("info", …) and format ("text", "json" or
// "auto": text when stderr is a terminal). Logs go to stderr; what a command
// prints for the user is output, never log lines. Throws Error(invalid_argument)
// for an unknown level or format.
void init(std::string_view level, std::string_view format);

// The named logger of a component ("daemon.http", "store", "audit", …), created
// on first use with the settings of init(). Thread-safe.
std::shared_ptr<spdlog::logger> get(const std::string& name);

// Changes the level of every logger at run time.
void set_level(std::string_view level);

}  // namespace pb::log
