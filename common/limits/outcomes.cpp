#include "common/limits/outcomes.hpp"

namespace pb::limits {

// Process-wide, as Prometheus client libraries keep their registries.
Outcomes& limit_check_outcomes(Scope scope) {
    static Outcomes ip{"allowed", "limited", "degraded"};
    static Outcomes user{"allowed", "limited", "degraded"};
    static Outcomes key{"allowed", "limited", "degraded"};
    switch (scope) {
        case Scope::ip:
            return ip;
        case Scope::user:
            return user;
        case Scope::key:
            break;
    }
    return key;
}

}  // namespace pb::limits
