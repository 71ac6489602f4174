// The request path from raw bytes: "METHOD TARGET\n" then the body. The
// target's route is matched in the op table, its captures, query and JSON body
// become the args as pbd's router assembles them (daemon/http/op_args.cpp: captures
// percent-decoded, a repeated query name a list, a body member given twice
// refused), and they go through what runtime::dispatch does before the handler
// (a copy, validation, the redacted args of a mutating op's audit record).
// Any pb::Error is a refusal; anything else (another exception, a crash, a
// sanitizer report) is a finding.
#include <nlohmann/json.hpp>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/percent.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using nlohmann::json;

void add_query(std::string_view query, const json& captures, json& args) {
    while (!query.empty()) {
        const auto [pair, rest] = pb::fuzz::split_at(query, '&');
        query = rest;
        const auto [raw_name, raw_value] = pb::fuzz::split_at(pair, '=');
        const auto name = pb::percent_decode(raw_name, pb::Plus::space);
        const auto value = pb::percent_decode(raw_value, pb::Plus::space);
        if (!name || !value) {
            throw pb::Error(pb::ErrorCode::invalid_argument, "malformed percent-encoding");
        }
        if (captures.contains(*name)) {
            throw pb::Error(pb::ErrorCode::invalid_argument, "given twice");
        }
        auto it = args.find(*name);
        if (it == args.end()) {
            args.emplace(*name, *value);
        } else if (it->is_array()) {
            it->push_back(*value);
        } else {
            *it = json::array({std::move(*it), *value});
        }
    }
}

void add_body(std::string_view text, json& args) {
    if (text.empty()) {
        return;
    }
    auto body = pb::parse_json(text, "request body");
    if (!body.is_object()) {
        throw pb::Error(pb::ErrorCode::invalid_argument, "not a JSON object");
    }
    for (auto& [name, value] : body.items()) {
        if (args.contains(name)) {
            throw pb::Error(pb::ErrorCode::invalid_argument, "given twice");
        }
        args[name] = std::move(value);
    }
}

// The args an audit record keeps. (dispatch's audit() dumps without a handler
// for bytes that are not UTF-8: here they are replaced, so such input does not
// stop the run; see the fuzz report.)
void audit(const pb::ops::Op& op, const json& args) {
    if (op.mutates == pb::ops::Mutates::yes) {
        (void)pb::ops::redact_args(op, args).dump(-1, ' ', false, json::error_handler_t::replace);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [line, body] = pb::fuzz::split_at(pb::fuzz::as_text(data, size), '\n');
    const auto [method, target] = pb::fuzz::split_at(line, ' ');
    const auto [path, query] = pb::fuzz::split_at(target, '?');
    const auto& table = pb::runtime::op_table();
    const auto match = table.match(method, path);
    if (match.op == nullptr) {
        return 0;
    }
    try {
        json args = json::object();
        for (const auto& [name, value] : match.captures) {
            const auto decoded = pb::percent_decode(value, pb::Plus::literal);
            if (!decoded) {
                return 0;
            }
            args[name] = *decoded;
        }
        add_query(query, json(args), args);
        add_body(body, args);
        const auto& op = *match.op;
        const json copy = args;  // as dispatch() keeps the raw args for its audit record
        try {
            const auto canonical =
                pb::ops::validate_args(op, copy, pb::fuzz::k_now_ms, pb::ops::NameStyle::field);
            // Canonical args validate to themselves (validate.hpp).
            (void)pb::ops::validate_args(op, canonical, pb::fuzz::k_now_ms);
            audit(op, canonical);
        } catch (const pb::Error&) {
            audit(op, copy);
            throw;
        }
    } catch (const pb::Error&) {
    }
    return 0;
}
