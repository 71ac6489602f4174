// Duration and rate syntax: durations and times (core/time_format) and rate
// policies (limits/policy), as config keys, params and stored key limits spell
// them. What parses must format and parse back to the same value.
#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/limits/policy.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = pb::fuzz::as_text(data, size);
    if (const auto ms = pb::parse_duration(text)) {
        check(*ms >= 0);
        check(pb::parse_duration(pb::format_duration(*ms)) == *ms || *ms == 0);
    }
    if (const auto t = pb::parse_rfc3339(text)) {
        (void)pb::format_rfc3339(*t);
    }
    (void)pb::parse_time_or_duration(text, pb::fuzz::k_now_ms);
    try {
        if (const auto policy = pb::limits::parse_rate_limit(text, "rate")) {
            check(policy->count > 0 && policy->period_ms > 0 && policy->burst > 0);
            (void)policy->interval_us();
            const auto again = pb::limits::parse_policy(policy->rate_text(), policy->burst, "rate");
            check(again && again->count == policy->count && again->period_ms == policy->period_ms);
            (void)policy->to_json().dump();
        }
    } catch (const pb::Error&) {
    }
    try {
        (void)pb::limits::parse_policy(text, 0, "rate");
    } catch (const pb::Error&) {
    }
    return 0;
}
