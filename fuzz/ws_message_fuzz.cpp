// A WebSocket text message as pbd's session reads it (daemon/ws/message): the
// JSON, the request's id, op and args, then what the session does before any
// database work: the credential of `authenticate` (parsed as an API key), the
// topic patterns of `subscribe`, and argument validation of a table op.
#include <nlohmann/json.hpp>

#include "common/core/error.hpp"
#include "common/events/topics.hpp"
#include "common/keys/format.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"
#include "daemon/ws/message.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using nlohmann::json;

void check_topics(const json& args) {
    const auto it = args.find("topics");
    if (it == args.end()) {
        return;
    }
    const json list = it->is_string() ? json::array({*it}) : *it;
    for (const auto& t : list) {
        if (t.is_string()) {
            pb::events::check_pattern(t.get_ref<const std::string&>());
            (void)pb::events::read_permission(t.get_ref<const std::string&>());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    json parsed;
    try {
        parsed = pb::daemon::parse_ws_message(pb::fuzz::as_text(data, size));
    } catch (const pb::Error&) {
        return 0;
    }
    const auto* message = &parsed;
    // The answer echoes the id, serialised as the session does.
    (void)json{{"id", pb::daemon::ws_request_id(*message)}}.dump(-1, ' ', false,
                                                                 json::error_handler_t::replace);
    try {
        const auto request = pb::daemon::decode_ws_request(*message);
        if (request.op == "authenticate") {
            (void)pb::keys::parse_key(pb::daemon::ws_credential(request.args));
        } else if (request.op == "subscribe") {
            check_topics(request.args);
        } else if (const auto* op = pb::runtime::op_table().find(request.op)) {
            (void)pb::ops::validate_args(*op, request.args, pb::fuzz::k_now_ms);
        }
    } catch (const pb::Error&) {
    }
    return 0;
}
