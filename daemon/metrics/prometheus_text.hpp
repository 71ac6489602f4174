#pragma once
// Lines of the Prometheus text format 0.0.4, for the parts of pbd that add
// their own metrics to /metrics (Metrics::set_extra).

#include <string>
#include <string_view>

namespace pb::daemon {

// "# HELP name help" and "# TYPE name type".
inline void append_family(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// "name{labels} value"; `labels` is "" or "{…}".
template <class Number>
void append_sample(std::string& out, std::string_view name, std::string_view labels, Number value) {
    out += name;
    out += labels;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

// A metric with one unlabelled sample.
template <class Number>
void append_metric(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help, Number value) {
    append_family(out, name, type, help);
    append_sample(out, name, "", value);
}

}  // namespace pb::daemon
