#include "common/runtime/op_table.hpp"

#include "common/keys/ops.hpp"

namespace pb::runtime {

const ops::OpTable& op_table() {
    static const ops::OpTable table = [] {
        ops::OpTable t;
        register_system_ops(t);
        keys::register_keys_ops(t);
        return t;
    }();
    return table;
}

}  // namespace pb::runtime
