#include "common/runtime/op_table.hpp"

#include "common/actions/ops.hpp"
#include "common/keys/ops.hpp"
#include "common/limits/ops.hpp"
#include "common/runtime/audit_ops.hpp"
#include "common/runtime/bouncer_ops.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/runtime/event_ops.hpp"
#include "common/runtime/maintenance_ops.hpp"
#include "common/runtime/ws_ops.hpp"
#include "common/secrets/ops.hpp"
#include "common/states/ops.hpp"
#include "common/tokens/ops.hpp"

namespace pb::runtime {

const ops::OpTable& op_table() {
    static const ops::OpTable table = [] {
        ops::OpTable t;
        register_system_ops(t);
        keys::register_keys_ops(t);
        keys::register_identity_ops(t);
        tokens::register_tokens_ops(t);
        limits::register_limits_ops(t);
        states::register_states_ops(t);
        register_maintenance_ops(t);
        register_audit_ops(t);
        register_event_ops(t);
        register_bouncer_ops(t);
        actions::register_actions_ops(t, actions_host());
        secrets::register_secrets_ops(t);
        register_ws_ops(t);
        return t;
    }();
    return table;
}

actions::OpHost actions_host() {
    return actions::OpHost{
        .table = &op_table,
        .dispatch =
            [](ops::ServiceRegistry& services, const ops::Op& op, const nlohmann::json& args,
               const ops::Caller& caller) {
                // An action's YAML scalars are all text.
                return dispatch(services, op, args, caller, ops::NameStyle::field,
                                ops::Surface::text);
            },
    };
}

}  // namespace pb::runtime
