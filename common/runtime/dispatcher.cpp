#include "common/runtime/dispatcher.hpp"

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/events/audit_log.hpp"
#include "common/keys/redact.hpp"

namespace pb::runtime {
namespace {

// The row for `op`: secret arguments as their value_hash (`pbctl audit hash`
// answers whether a value was used), anything shaped like an API key cut to
// its id.
events::AuditRecord audit_record(events::AuditLog& audit, const ops::Op& op,
                                 const ops::Caller& caller, const nlohmann::json& args,
                                 std::string_view outcome) {
    nlohmann::json shown = args;
    keys::redact_key_id_arg(op.name, shown);  // another system's key where an id belongs
    std::string target;
    if (!op.audit_target.empty() && shown.contains(op.audit_target) &&
        shown[op.audit_target].is_string()) {
        target = keys::redact_keys(shown[op.audit_target].get<std::string>());
    }
    for (const auto& p : op.params) {
        if (p.secret == ops::Secret::yes && shown.contains(p.name)) {
            shown[p.name] = audit.hash_values(shown[p.name]);
        }
    }
    // A whole API key given by mistake where an id belongs is cut to its id.
    const auto text =
        keys::redact_keys(shown.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    log::get("audit")->info("op={} actor={} target={} outcome={}", op.name, caller.actor, target,
                            outcome);
    return {caller.actor, op.name, target, std::string(outcome), text};
}

// The row of a refusal or failure, in a transaction of its own (the change,
// if any, rolled back): logged when it cannot be written, the op's own error
// is what the caller needs.
void audit_failure(events::AuditLog& audit, const ops::Op& op, const ops::Caller& caller,
                   const nlohmann::json& args, std::string_view outcome) {
    try {
        audit.record(audit_record(audit, op, caller, args, outcome));
    } catch (const std::exception& e) {
        log::get("audit")->error("audit record for {} not written: {}", op.name, e.what());
    }
}

bool audited(const ops::Op& op, const nlohmann::json& args) {
    return op.mutates == ops::Mutates::yes || (op.audit_read && op.audit_read(args));
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
        if (op.mutates == ops::Mutates::yes) {
            // The change and its row commit together or not at all: the
            // services' transactions join this one (store::Store::transaction).
            auto& audit = services.service<events::AuditLog>();
            return services.service<store::Store>().transaction([&](store::Connection& c) {
                auto out = handler(ctx, args);
                try {
                    audit.append(c, audit_record(audit, op, caller, args, "ok"));
                } catch (const Error& e) {
                    throw Error(ErrorCode::unavailable,
                                op.name + ": not done: its audit record cannot be written (" +
                                    std::string(e.what()) + ")");
                }
                return out;
            });
        }
        auto result = handler(ctx, args);
        if (op.audit_read && op.audit_read(args)) {
            auto& audit = services.service<events::AuditLog>();
            try {
                audit.record(audit_record(audit, op, caller, args, "ok"));
            } catch (const std::exception& e) {
                if (audit.options().fail_closed) {
                    throw Error(ErrorCode::unavailable,
                                op.name +
                                    ": refused: its audit record cannot be written "
                                    "(audit.fail_closed): " +
                                    std::string(e.what()));
                }
                log::get("audit")->error("audit record for {} not written: {}", op.name, e.what());
            }
        }
        return result;
    } catch (const Error& e) {
        if (audited(op, args)) {
            audit_failure(services.service<events::AuditLog>(), op, caller, args,
                          to_string(e.code()));
        }
        // Messages echo arguments ("no key …"): never a whole API key.
        throw keys::redact_keys_error(e);
    } catch (const std::exception&) {
        // Not a pb::Error (a bug, e.g. a JSON type error): still a failed audited op.
        if (audited(op, args)) {
            audit_failure(services.service<events::AuditLog>(), op, caller, args,
                          to_string(ErrorCode::internal));
        }
        throw;
    }
}

}  // namespace pb::runtime
