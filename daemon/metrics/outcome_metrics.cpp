#include "daemon/metrics/outcome_metrics.hpp"

#include "common/admission/outcomes.hpp"
#include "common/limits/outcomes.hpp"
#include "common/tokens/outcomes.hpp"
#include "daemon/metrics/prometheus_text.hpp"

namespace pb::daemon {

void append_outcomes(std::string& out, std::string_view name, std::string_view help,
                     std::string_view label, std::initializer_list<OutcomeSeries> series) {
    append_family(out, name, "counter", help);
    for (const auto& s : series) {
        for (std::size_t i = 0; i < s.outcomes.size(); ++i) {
            out += name;
            out += '{';
            out += s.labels;
            out += label;
            out += "=\"";
            out += s.outcomes.value_name(i);
            out += "\"} ";
            out += std::to_string(s.outcomes.total(i));
            out += '\n';
        }
    }
}

void append_outcome_metrics(std::string& out) {
    using admission::CredentialKind;
    append_outcomes(out, "pb_key_verify_total",
                    "keys.verify answers (HTTP, WebSocket), by outcome: valid or the reason.",
                    "outcome", {{"", admission::key_verify_outcomes()}});
    append_outcomes(out, "pb_token_verify_total",
                    "tokens.verify answers (HTTP, WebSocket), by outcome: valid or the reason.",
                    "outcome", {{"", tokens::token_verify_outcomes()}});
    append_outcomes(
        out, "pb_credential_checks_total",
        "Credentials presented to pbd (routes, /v1/auth, WebSocket), by kind and outcome.",
        "outcome",
        {{"kind=\"key\",", admission::credential_outcomes(CredentialKind::key)},
         {"kind=\"token\",", admission::credential_outcomes(CredentialKind::token)},
         {"kind=\"none\",", admission::credential_outcomes(CredentialKind::none)}});
    append_outcomes(out, "pb_limit_checks_total",
                    "Rate-limit checks under a policy, by scope and outcome (degraded: allowed "
                    "because Redis could not answer and the failure policy is open).",
                    "outcome",
                    {{"scope=\"ip\",", limits::limit_check_outcomes(limits::Scope::ip)},
                     {"scope=\"user\",", limits::limit_check_outcomes(limits::Scope::user)},
                     {"scope=\"key\",", limits::limit_check_outcomes(limits::Scope::key)}});
}

}  // namespace pb::daemon
