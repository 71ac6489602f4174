// The request path from raw bytes: "METHOD TARGET\n" then the body. The
// target's route is matched in the op table, its captures, query and JSON body
// become the args by pbd's own daemon/http/op_args.cpp (captures percent-decoded,
// a repeated query name a list, a body member given twice refused), and they go
// through what runtime::dispatch does before the handler
// (a copy, validation, the redacted args of a mutating op's audit record).
// Any pb::Error is a refusal; anything else (another exception, a crash, a
// sanitizer report) is a finding.
#include <nlohmann/json.hpp>

#include "common/core/error.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"
#include "daemon/http/op_args.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using nlohmann::json;

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
        const pb::daemon::Request request{.method = method, .target = target, .body = body};
        const auto args = pb::daemon::op_args(request, match, query);
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
