#include "daemon/metrics/limit_metrics.hpp"

#include "common/limits/service.hpp"
#include "daemon/metrics/prometheus_text.hpp"

namespace pb::daemon {
namespace {

// A label value in the text format: backslash, double quote and newline escaped.
std::string label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

void append_limit_metrics(Services& services, std::string& out) {
    const auto counts = services.limits().shadow_denials().snapshot();
    append_family(out, "pb_limit_shadow_denied_total", "counter",
                  "Checks a shadow policy would have refused and let through, by policy "
                  "(scope:SCOPE, override:TARGET, …).");
    for (const auto& [policy, n] : counts) {
        append_sample(out, "pb_limit_shadow_denied_total",
                      "{policy=\"" + label_value(policy) + "\"}", n);
    }
}

}  // namespace pb::daemon
