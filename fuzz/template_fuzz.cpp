// Template rendering (actions/template) on its own: the bytes before the first
// NUL are one template, the bytes after it a JSON object of values (nesting
// bounded, as at the doors they come through). The template is checked as the
// loader checks it (each placeholder names a declared parameter; a list fills
// a whole element), then rendered as an argv element, an env value and op
// args, for an action declaring one parameter of each kind.
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/actions/args.hpp"
#include "common/actions/template.hpp"
#include "common/core/error.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using namespace pb::actions;

Action make_action(const std::string& tmpl) {
    Action a;
    a.name = "fuzz";
    const std::pair<const char*, ParamKind> kinds[] = {
        {"s", ParamKind::string},  {"i", ParamKind::integer},     {"n", ParamKind::number},
        {"b", ParamKind::boolean}, {"e", ParamKind::enumeration}, {"d", ParamKind::duration},
        {"l", ParamKind::list},    {"secret", ParamKind::string},
    };
    for (const auto& [name, kind] : kinds) {
        ParamSpec p;
        p.name = name;
        p.kind = kind;
        p.secret = std::string_view(name) == "secret";
        if (kind == ParamKind::enumeration) {
            p.values = {"red", "-green"};
        }
        a.params.push_back(std::move(p));
    }
    CommandRun run;
    run.argv = {"prog", tmpl, "--", tmpl};
    run.env = {{"X", tmpl}};
    a.command = std::move(run);
    OpRun op;
    op.op = "health";
    op.args = {{"a", tmpl}, {"b", nlohmann::json::array({tmpl})}};
    a.op = std::move(op);
    return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [text, values_text] = pb::fuzz::split_at(pb::fuzz::as_text(data, size), '\0');
    const std::string tmpl(text);
    std::vector<Piece> pieces;
    try {
        pieces = parse_template(tmpl);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    const auto action = make_action(tmpl);
    for (const auto& piece : pieces) {
        if (!piece.is_param) {
            continue;
        }
        const auto* p = action.find_param(piece.text);
        if (p == nullptr || (p->kind == ParamKind::list && pieces.size() != 1)) {
            return 0;  // the loader refuses such a template
        }
    }
    auto raw = pb::fuzz::parse_door_json(values_text);
    if (!raw.is_object()) {
        raw = nlohmann::json::object();
    }
    try {
        const auto values = validate_values(action, raw);
        for (const auto reveal : {Reveal::values, Reveal::redacted}) {
            (void)render_argv(action, values, reveal);
            (void)render_env(action, values, reveal);
            (void)render_op_args(action, values, reveal)
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
    } catch (const pb::Error&) {
    }
    return 0;
}
