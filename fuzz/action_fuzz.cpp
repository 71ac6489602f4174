// The action YAML loader (actions/loader) and what a loaded action does with
// values before it runs anything: the bytes before the first NUL are the YAML
// file, the bytes after it a JSON object of values (nesting bounded, as at the
// doors they come through). Values are validated (actions/args), then rendered
// into argv, env and op args (actions/template) both revealed and redacted.
// Nothing is ever spawned.
#include <nlohmann/json.hpp>

#include "common/actions/args.hpp"
#include "common/actions/loader.hpp"
#include "common/actions/template.hpp"
#include "common/core/error.hpp"
#include "common/runtime/op_table.hpp"
#include "fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [yaml, values_text] = pb::fuzz::split_at(pb::fuzz::as_text(data, size), '\0');
    const auto file = pb::fuzz::write_temp("action.yaml", yaml);
    const auto loaded = pb::actions::load_file(file, &pb::runtime::op_table());
    for (const auto& p : loaded.problems) {
        (void)p.to_string();
    }
    if (!loaded.action) {
        return 0;
    }
    const auto& action = *loaded.action;
    (void)action.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto raw = pb::fuzz::parse_door_json(values_text);
    if (!raw.is_object()) {
        raw = nlohmann::json::object();
    }
    try {
        const auto values = pb::actions::validate_values(action, raw);
        (void)pb::actions::redact_values(action, values);
        for (const auto reveal : {pb::actions::Reveal::values, pb::actions::Reveal::redacted}) {
            if (action.command) {
                (void)pb::actions::render_argv(action, values, reveal);
                (void)pb::actions::render_env(action, values, reveal);
            }
            if (action.op) {
                (void)pb::actions::render_op_args(action, values, reveal);
            }
        }
    } catch (const pb::Error&) {
    }
    return 0;
}
