#include <algorithm>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"

namespace pb::ops {
namespace {

const OpTable& table() {
    return runtime::op_table();
}

// A valid value for a required param of any type.
nlohmann::json sample_value(const Param& p) {
    switch (p.type) {
        case ParamType::string:
            return p.choices.empty() ? "x" : p.choices.front();
        case ParamType::integer:
            return std::max<std::int64_t>(p.min, 1);
        case ParamType::boolean:
            return true;
        case ParamType::duration:
            return "1h";
        case ParamType::time:
            return "1d";
        case ParamType::string_list:
            return nlohmann::json::array({"x"});
        case ParamType::json_object:
            return nlohmann::json::object();
        case ParamType::json_value:
            return "any";
    }
    return nullptr;
}

// The table is not empty and holds the documented key ops.
TEST(OpTableDrift, HoldsTheKeyOps) {
    for (const char* name : {"keys.create", "keys.verify", "keys.list", "keys.show", "keys.update",
                             "keys.rotate", "keys.revoke", "keys.delete", "db.migrate", "db.status",
                             "config.show", "config.explain", "health", "version"}) {
        EXPECT_NE(table().find(name), nullptr) << name;
    }
}

// Every op has a summary and a handler, and every param has help.
TEST(OpTableDrift, EveryOpAndParamIsDocumented) {
    for (const auto& op : table().all()) {
        SCOPED_TRACE(op.name);
        EXPECT_FALSE(op.summary.empty());
        EXPECT_TRUE(static_cast<bool>(op.handler));
        std::set<std::string> names, labels;
        for (const auto& p : op.params) {
            SCOPED_TRACE(p.name);
            EXPECT_FALSE(p.help.empty());
            EXPECT_TRUE(names.insert(p.name).second) << "duplicate param";
            EXPECT_TRUE(labels.insert(param_label(p, NameStyle::flag)).second)
                << "duplicate CLI label";
        }
    }
}

// Every mutating op needs a write permission (":write") or "admin".
TEST(OpTableDrift, MutatingOpsNeedAWritePermission) {
    for (const auto& op : table().all()) {
        if (op.mutates != Mutates::yes) {
            continue;
        }
        SCOPED_TRACE(op.name);
        if (op.permission.empty()) {
            // Only an op whose required secret argument is itself the credential
            // (tokens.refresh: the refresh token) may go without a permission.
            bool carries_credential = false;
            for (const auto& p : op.params) {
                carries_credential =
                    carries_credential || (p.secret == Secret::yes && p.required == Required::yes);
            }
            EXPECT_TRUE(carries_credential) << "mutating op without permission or credential";
            continue;
        }
        EXPECT_TRUE(op.permission.ends_with(":write") || op.permission == "admin") << op.permission;
    }
}

// A mutating op is never a GET (caches and crawlers must not change state).
TEST(OpTableDrift, MutatingOpsAreNotGet) {
    for (const auto& op : table().all()) {
        if (op.mutates == Mutates::yes) {
            EXPECT_NE(op.route.method, "GET") << op.name;
        }
    }
}

// Every route has a known method and starts with "/"; no two share method and path.
TEST(OpTableDrift, RoutesAreWellFormedAndUnique) {
    const std::set<std::string> methods{"GET", "POST", "PUT", "PATCH", "DELETE"};
    std::set<std::string> seen;
    for (const auto& op : table().all()) {
        SCOPED_TRACE(op.name);
        if (op.websocket_only()) {
            EXPECT_TRUE(op.route.path.empty() && op.route.method.empty());
            continue;
        }
        EXPECT_TRUE(op.route.path.starts_with("/")) << op.route.path;
        EXPECT_TRUE(methods.count(op.route.method)) << op.route.method;
        EXPECT_TRUE(seen.insert(op.route.method + " " + op.route.path).second)
            << "shared route " << op.route.method << " " << op.route.path;
        EXPECT_GE(op.route.success_status, 200);
        EXPECT_LT(op.route.success_status, 300);
    }
}

// Every {capture} in a route names a param of the op.
TEST(OpTableDrift, RouteCapturesAreParams) {
    const std::regex capture(R"(\{([^}.]+)(\.\.\.)?\})");
    for (const auto& op : table().all()) {
        SCOPED_TRACE(op.name);
        for (std::sregex_iterator it(op.route.path.begin(), op.route.path.end(), capture), end;
             it != end; ++it) {
            EXPECT_NE(op.find_param((*it)[1].str()), nullptr) << (*it)[1].str();
        }
    }
}

// Op names are "group.verb", "group.sub.verb" or a bare word, lowercase.
TEST(OpTableDrift, NamesAreGroupVerbOrBareWord) {
    const std::regex name(R"([a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,2})");
    std::set<std::string> names;
    for (const auto& op : table().all()) {
        EXPECT_TRUE(std::regex_match(op.name, name)) << op.name;
        EXPECT_TRUE(names.insert(op.name).second) << "duplicate " << op.name;
    }
}

// A bare-word op does not collide with a group (the CLI could not tell them apart).
TEST(OpTableDrift, BareWordsAreNotGroups) {
    std::set<std::string> groups;
    for (const auto& op : table().all()) {
        if (!op.verb().empty()) {
            groups.insert(op.group());
        }
    }
    for (const auto& op : table().all()) {
        if (op.verb().empty()) {
            EXPECT_EQ(groups.count(op.name), 0U) << op.name;
        }
    }
}

// Every default is valid for its own param (validating with no args succeeds).
TEST(OpTableDrift, DefaultsValidate) {
    for (const auto& op : table().all()) {
        SCOPED_TRACE(op.name);
        nlohmann::json raw = nlohmann::json::object();
        for (const auto& p : op.params) {
            if (p.required != Required::no) {
                raw[p.name] = sample_value(p);
            }
        }
        EXPECT_NO_THROW(validate_args(op, raw, 1'700'000'000'000));
    }
}

// Fields the CLI relies on name things that exist.
TEST(OpTableDrift, CliFieldsAreConsistent) {
    for (const auto& op : table().all()) {
        SCOPED_TRACE(op.name);
        if (!op.audit_target.empty()) {
            EXPECT_NE(op.find_param(op.audit_target), nullptr) << op.audit_target;
        }
        if (!op.verdict_field.empty()) {
            EXPECT_FALSE(op.verdict_reason_field.empty());
        }
        if (!op.columns.empty()) {
            EXPECT_FALSE(op.list_field.empty());
        }
    }
}

// NAME=VALUE words are a property of the param (FieldWords), and only a
// positional JSON object can take them: the table refuses anything else.
TEST(OpTableDrift, WordsOnlyOnPositionalJsonObjects) {
    for (const auto& op : table().all()) {
        for (const auto& p : op.params) {
            if (p.words == FieldWords::yes) {
                EXPECT_EQ(p.type, ParamType::json_object) << op.name << " " << p.name;
                EXPECT_EQ(p.positional, Positional::yes) << op.name << " " << p.name;
            }
        }
    }
    const auto op_with = [](Param p) {
        return Op{.name = "test.words",
                  .summary = "s",
                  .params = {std::move(p)},
                  .route = {"POST", "/v1/test-words"}};
    };
    OpTable t;
    EXPECT_THROW(t.add(op_with(Param{.name = "data",
                                     .type = ParamType::json_object,
                                     .help = "h",
                                     .words = FieldWords::yes})),
                 Error);
    EXPECT_THROW(
        t.add(op_with(Param{
            .name = "data", .help = "h", .positional = Positional::yes, .words = FieldWords::yes})),
        Error);
    t.add(op_with(Param{.name = "data",
                        .type = ParamType::json_object,
                        .help = "h",
                        .positional = Positional::yes,
                        .words = FieldWords::yes}));
    EXPECT_NE(t.find("test.words"), nullptr);
}

}  // namespace
}  // namespace pb::ops
