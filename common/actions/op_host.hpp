#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "common/ops/registry.hpp"
#include "common/ops/service_registry.hpp"

namespace pb::actions {

// What actions need from the program that runs ops, handed in by runtime when
// it builds the catalog and registers the actions' ops: actions sit below
// runtime and never include it.
struct OpHost {
    // Every op (an op action names one, lint checks that it exists); a function
    // because the table is complete only once every domain registered its ops.
    const ops::OpTable& (*table)() = nullptr;
    // The one way an op runs (runtime::dispatch: permission, validation,
    // handler, audit), with field-style argument names.
    std::function<nlohmann::json(ops::ServiceRegistry& services, const ops::Op& op,
                                 const nlohmann::json& args, const ops::Caller& caller)>
        dispatch;
};

}  // namespace pb::actions
