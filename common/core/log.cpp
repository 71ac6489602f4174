#include "common/core/log.hpp"

#include <mutex>
#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/core/error.hpp"

namespace pb::log {
namespace {

// Writes the message JSON-escaped so every line stays one valid JSON object.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        for (char c : msg.payload) {
            switch (c) {
                case '"':
                    dest.append(std::string_view("\\\""));
                    break;
                case '\\':
                    dest.append(std::string_view("\\\\"));
                    break;
                case '\n':
                    dest.append(std::string_view("\\n"));
                    break;
                case '\r':
                    dest.append(std::string_view("\\r"));
                    break;
                case '\t':
                    dest.append(std::string_view("\\t"));
                    break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        char buf[8];
                        std::snprintf(buf, sizeof buf, "\\u%04x", c);
                        dest.append(std::string_view(buf));
                    } else {
                        dest.push_back(c);
                    }
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonMessageFlag>();
    }
};

std::mutex g_mutex;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::warn;

spdlog::sink_ptr sink() {
    if (!g_sink) {
        g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        g_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    }
    return g_sink;
}

spdlog::level::level_enum parse_level(std::string_view level) {
    const auto l = spdlog::level::from_str(std::string(level));
    if (l == spdlog::level::off && level != "off") {
        throw Error(ErrorCode::invalid_argument,
                    "log.level: expected trace, debug, info, warn, error or off, got \"" +
                        std::string(level) + "\"",
                    {{"key", "log.level"}});
    }
    return l;
}

Format parse_format(std::string_view format) {
    if (format == "json") {
        return Format::json;
    }
    if (format == "auto") {
        return isatty(STDERR_FILENO) ? Format::text : Format::json;
    }
    if (format != "text") {
        throw Error(ErrorCode::invalid_argument,
                    "log.format: expected text, json or auto, got \"" + std::string(format) + "\"",
                    {{"key", "log.format"}});
    }
    return Format::text;
}

}  // namespace

void init(std::string_view level, std::string_view format) {
    const auto lvl = parse_level(level);
    const Format fmt = parse_format(format);
    std::lock_guard lock(g_mutex);
    auto s = sink();
    if (fmt == Format::json) {
        auto formatter =
            std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
        formatter->add_flag<JsonMessageFlag>('*').set_pattern(
            R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%*"})");
        s->set_formatter(std::move(formatter));
    } else {
        s->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    }
    g_level = lvl;
    spdlog::apply_all([lvl](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
    if (auto existing = spdlog::get(name)) {
        return existing;
    }
    std::lock_guard lock(g_mutex);
    if (auto existing = spdlog::get(name)) {
        return existing;
    }
    auto logger = std::make_shared<spdlog::logger>(name, sink());
    logger->set_level(g_level);
    spdlog::register_logger(logger);
    return logger;
}

void set_level(std::string_view level) {
    const auto lvl = parse_level(level);
    std::lock_guard lock(g_mutex);
    g_level = lvl;
    spdlog::apply_all([lvl](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
}

}  // namespace pb::log
