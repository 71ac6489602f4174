#include "common/runtime/dispatcher.hpp"

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/keys/redact.hpp"

namespace pb::runtime {
namespace {

void audit(ops::ServiceRegistry& services, const ops::Op& op, const ops::Caller& caller,
           const nlohmann::json& args, std::string_view outcome) {
    std::string target;
    if (!op.audit_target.empty() && args.contains(op.audit_target) &&
        args[op.audit_target].is_string()) {
        target = keys::redact_keys(args[op.audit_target].get<std::string>());
    }
    // A whole API key given by mistake where an id belongs is cut to its id.
    const auto redacted = keys::redact_keys(
        ops::redact_args(op, args).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    log::get("audit")->info("op={} actor={} target={} outcome={}", op.name, caller.actor, target,
                            outcome);
    try {
        services.service<store::Store>().transaction([&](store::Connection& c) {
            c.exec(
                "INSERT INTO audit_log (at, actor, op, target, outcome, args) VALUES ($1, $2, "
                "$3, $4, $5, $6)",
                {services.clock().now(), caller.actor, op.name, target, std::string(outcome),
                 redacted});
        });
    } catch (const std::exception& e) {
        log::get("audit")->error("audit record for {} not written: {}", op.name, e.what());
    }
}

}  // namespace

nlohmann::json dispatch(ops::ServiceRegistry& services, const ops::Op& op,
                        const nlohmann::json& raw_args, const ops::Caller& caller,
                        ops::NameStyle style, ops::Surface surface) {
    return dispatch(services, op, op.handler, raw_args, caller, style, surface);
}

nlohmann::json dispatch(ops::ServiceRegistry& services, const ops::Op& op,
                        const ops::Handler& handler, const nlohmann::json& raw_args,
                        const ops::Caller& caller, ops::NameStyle style, ops::Surface surface) {
    nlohmann::json args = raw_args.is_object() ? raw_args : nlohmann::json::object();
    try {
        if (!ops::has_permission(caller.permissions, op.permission)) {
            throw Error(ErrorCode::permission_denied,
                        op.name + " needs the permission \"" + op.permission + "\"",
                        {{"permission", op.permission}});
        }
        args = ops::validate_args(op, raw_args, services.clock().now(), style, surface);
        auto ctx = ops::Context{services, caller};
        auto result = handler(ctx, args);
        if (op.mutates == ops::Mutates::yes) {
            audit(services, op, caller, args, "ok");
        }
        return result;
    } catch (const Error& e) {
        if (op.mutates == ops::Mutates::yes) {
            audit(services, op, caller, args, to_string(e.code()));
        }
        // Messages echo arguments ("no key …"): never a whole API key.
        throw keys::redact_keys_error(e);
    } catch (const std::exception&) {
        // Not a pb::Error (a bug, e.g. a JSON type error): still a failed mutating op.
        if (op.mutates == ops::Mutates::yes) {
            audit(services, op, caller, args, to_string(ErrorCode::internal));
        }
        throw;
    }
}

}  // namespace pb::runtime
