// The words of limits an operator types (issue #25): override targets
// (limits/overrides), globs matched against names, refill periods and named
// limits and costs (keys/refill, keys/named_limit). What parses must print
// back to text that parses to the same value; a glob must match in bounded
// time whatever the name (the input is split at the first newline: glob,
// name).
#include "common/core/error.hpp"
#include "common/keys/named_limit.hpp"
#include "common/keys/refill.hpp"
#include "common/limits/overrides.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

template <class F>
void refused_cleanly(F&& f) {
    try {
        f();
    } catch (const pb::Error& e) {
        check(e.code() == pb::ErrorCode::invalid_argument);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = pb::fuzz::as_text(data, size);
    refused_cleanly([&] {
        const auto target = pb::limits::parse_override_target(text);
        const auto again = pb::limits::parse_override_target(target.text());
        check(again.text() == target.text() && again.kind == target.kind &&
              again.scope == target.scope);
    });
    const auto [glob, name] = pb::fuzz::split_at(text, '\n');
    if (glob.size() <= 256 && name.size() <= 256) {
        (void)pb::limits::glob_match(glob, name);
    }
    refused_cleanly([&] {
        if (const auto refill = pb::keys::parse_refill(text, "refill")) {
            const auto again = pb::keys::parse_refill(refill->text(), "refill");
            check(again && again->text() == refill->text());
            check(refill->period_start(pb::fuzz::k_now_ms) <= pb::fuzz::k_now_ms);
        }
    });
    refused_cleanly([&] {
        const auto word = pb::keys::named_limit_word(text, "limits");
        const auto limits = pb::keys::parse_named_limits(nlohmann::json::array({word}), "limits");
        check(limits.size() == 1);
        const auto back = pb::keys::limits_from_stored(pb::keys::stored_limits(limits));
        check(back.size() == 1 && back[0].name == limits[0].name &&
              back[0].rate == limits[0].rate && back[0].auto_ == limits[0].auto_ &&
              back[0].shadow == limits[0].shadow);
    });
    refused_cleanly([&] {
        const auto costs =
            pb::keys::parse_limit_costs(nlohmann::json::array({pb::keys::limit_cost_word(text)}));
        check(costs.size() == 1 && costs[0].cost >= 1 &&
              costs[0].cost <= pb::keys::k_max_limit_cost);
    });
    return 0;
}
