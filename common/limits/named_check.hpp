#pragma once

#include <cstdint>
#include <string>

#include "common/limits/policy.hpp"

namespace pb::limits {

// One bucket of a check that spends several at once (a key's and its
// identity's named limits): all of them or none. A `shadow` bucket counts
// when the others pass and it fits, and is reported over its limit, but never
// refuses the check.
struct BucketCheck {
    std::string bucket;  // "k:<key id>:<name>", "i:<identity id>:<name>"
    Policy policy;
    std::int64_t cost = 1;
    bool shadow = false;
};

}  // namespace pb::limits
