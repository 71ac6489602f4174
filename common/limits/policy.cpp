#include "common/limits/policy.hpp"

namespace pb::limits {

std::string_view to_string(Scope scope) {
    switch (scope) {
        case Scope::ip:
            return "ip";
        case Scope::user:
            return "user";
        case Scope::key:
            return "key";
    }
    return "ip";
}

std::optional<Scope> scope_from_string(std::string_view text) {
    for (auto s : {Scope::ip, Scope::user, Scope::key}) {
        if (to_string(s) == text) {
            return s;
        }
    }
    return std::nullopt;
}

}  // namespace pb::limits
