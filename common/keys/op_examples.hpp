#pragma once
// The key row and text the keys ops' examples show (ops.cpp, import_ops.cpp).

#include <nlohmann/json.hpp>

namespace pb::keys {

// A key row as examples show it, with `changes` applied.
inline nlohmann::json example_key(nlohmann::json changes = nlohmann::json::object()) {
    nlohmann::json row{{"id", "4fQ9kZr2Lm8x"},
                       {"owner", "ci"},
                       {"name", "deploy"},
                       {"permissions", {"deploy:write"}},
                       {"metadata", nlohmann::json::object()},
                       {"status", "active"},
                       {"created_at", "2026-01-02T03:04:05.678Z"},
                       {"created_by", "local:ops"},
                       {"bootstrap", false},
                       {"updated_at", "2026-01-02T03:04:05.678Z"},
                       {"expires_at", "2026-02-01T03:04:05.678Z"},
                       {"remaining", nullptr},
                       {"revoked_at", nullptr},
                       {"last_used_at", nullptr},
                       {"rate_limit", nullptr},
                       {"disabled_at", nullptr},
                       {"disabled_reason", nullptr},
                       {"imported", false},
                       {"identity", nullptr},
                       {"limits", nlohmann::json::array()},
                       {"refill", nullptr},
                       {"last_refill_at", nullptr},
                       {"previous_secret_valid_until", nullptr}};
    row.update(changes);
    return row;
}

inline constexpr const char* k_example_key =
    "pb_4fQ9kZr2Lm8x_Vb3nQ7sT1wXy5Za8Cd2Ef4Gh6Jk9Mn0Pq0aB1c2D";

}  // namespace pb::keys
