#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace pb::test {

// The entry of the named limit `name` in a keys.verify answer's "limits"
// (null when absent).
inline nlohmann::json limit_of(const nlohmann::json& answer, const std::string& name) {
    for (const auto& l : answer.value("limits", nlohmann::json::array())) {
        if (l.value("name", "") == name) {
            return l;
        }
    }
    return nullptr;
}

}  // namespace pb::test
