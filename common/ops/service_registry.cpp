#include "common/ops/service_registry.hpp"

#include <string>

#include "common/core/error.hpp"

namespace pb::ops {

void* ServiceRegistry::require(std::type_index type) {
    if (void* s = find(type)) {
        return s;
    }
    throw Error(ErrorCode::internal, std::string("no service of type ") + type.name());
}

}  // namespace pb::ops
