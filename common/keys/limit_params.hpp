#pragma once
// The named-limit params keys.create/update and identities.create/update share.

#include <string>
#include <string_view>

#include "common/keys/named_limit.hpp"
#include "common/ops/op.hpp"

namespace pb::keys {

// `limits`: the JSON array of named limits; `what` opens its help ("Named limits").
inline ops::Param limits_param(std::string_view what) {
    return ops::Param{.name = "limits",
                      .type = ops::ParamType::json_value,
                      .help = std::string(what) +
                              ", a JSON array of {\"name\",\"rate\",\"auto\",\"shadow\"} (rate "
                              "RATE[,BURST]; auto: spent by every verify; shadow: counts, never "
                              "refuses); replaces them all on update",
                      .schema = NamedLimit::param_schema()};
}

// pbctl's --limit NAME=RATE[,BURST][:auto][:shadow], merged into `limits`.
inline ops::Param limit_words_param() {
    return ops::Param{.name = "limit",
                      .type = ops::ParamType::string_list,
                      .help =
                          "A named limit NAME=RATE[,BURST][:auto][:shadow], e.g. "
                          "requests=100/min:auto (repeatable; added to --limits)",
                      .cli_only = ops::CliOnly::yes};
}

}  // namespace pb::keys
