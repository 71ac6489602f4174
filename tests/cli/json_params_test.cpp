// Every JSON parameter of every op, through the real pbctl on the database, in
// each of the four spellings pbctl reads: inline JSON, a file path, @path and
// - (stdin). The ops are found by walking the op table, not listed here.
#include <array>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include "cli/param_input.hpp"
#include "common/core/error.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using pb::test::RunResult;

enum class Form { inline_json, path, at_path, stdin_dash };
constexpr std::array k_forms{Form::inline_json, Form::path, Form::at_path, Form::stdin_dash};

std::string form_name(Form f) {
    switch (f) {
        case Form::inline_json:
            return "inline";
        case Form::path:
            return "path";
        case Form::at_path:
            return "@path";
        case Form::stdin_dash:
            return "-";
    }
    return "?";
}

// A JSON parameter pbctl reads as one JSON text (not NAME=VALUE words).
struct JsonParam {
    const ops::Op* op;
    const ops::Param* param;
};

std::vector<JsonParam> json_params() {
    std::vector<JsonParam> out;
    for (const auto& op : runtime::op_table().all()) {
        for (const auto& p : op.params) {
            if (p.type == ops::ParamType::json_object && p.words == ops::FieldWords::no) {
                out.push_back({&op, &p});
            }
        }
    }
    return out;
}

// The slot in a recipe's arguments where the JSON goes.
const std::string k_slot = "{JSON}";

class JsonParamsTest : public PbctlTest {
  public:
    // The recipes below drive the fixture.
    using PbctlTest::create_key;
    using PbctlTest::dir;
    using PbctlTest::env;
    using PbctlTest::id_of;
    using PbctlTest::ok;
    using PbctlTest::ok_json;

    JsonParamsTest() {
        fs::create_directories(dir.file("actions"));
        env["PB_ACTIONS_PATHS"] = dir.file("actions");
        std::ofstream(dir.file("actions/echo.yaml"))
            << "name: echo\ndescription: Prints its arguments\npermission: deploy:run\n"
               "params:\n  word: {type: string, required: true, help: A word}\n"
               "run:\n  command: ["
            << PB_SOURCE_DIR << "/tests/unit/actions/scripts/print_argv.py, \"{{word}}\"]\n";
    }

    // Each case gets a database of its own, so one form's effect is not mistaken for another's.
    void fresh_db(const std::string& name) { env["PB_DB"] = dir.file(name + ".db"); }

    // `args` with the slot replaced by `value` spelled as `form` (its file
    // written first); stdin carries the value for "-".
    RunResult run_in_form(std::vector<std::string> args, const json& value, Form form,
                          const std::string& text_override = "") {
        const std::string text = text_override.empty() ? value.dump() : text_override;
        const auto file = dir.file("value-" + std::to_string(++m_files) + ".json");
        std::ofstream(file) << text << '\n';
        std::string in;
        for (auto& a : args) {
            if (a != k_slot) {
                continue;
            }
            switch (form) {
                case Form::inline_json:
                    a = text;
                    break;
                case Form::path:
                    a = file;
                    break;
                case Form::at_path:
                    a = "@" + file;
                    break;
                case Form::stdin_dash:
                    a = "-";
                    in = text + "\n";
                    break;
            }
        }
        last_args = args;
        return pbctl(args, in);
    }

    json parse_out(const RunResult& r) {
        auto j = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << describe(last_args, r);
        return j;
    }

    std::vector<std::string> last_args;
    int m_files = 0;
};

// How to run one op so that what the JSON did can be read back: setup in the
// fresh database, the op's arguments with the slot, the value, and the check.
struct Recipe {
    std::string param;
    json value;
    // Prepares the database and returns the op's arguments; may set the value.
    std::function<std::vector<std::string>(JsonParamsTest&, json& value)> setup;
    std::function<void(JsonParamsTest&, const RunResult&, const json& value)> check;
};

std::string trimmed(std::string s) {
    while (!s.empty() && s.back() == '\n') {
        s.pop_back();
    }
    return s;
}

// Recipes for the ops known today. An op with a JSON param and no recipe still
// runs through the generic check below; a recipe adds the proof of its effect.
std::map<std::string, Recipe> recipes() {
    std::map<std::string, Recipe> out;
    out["keys.create"] = {"metadata", json{{"team", "blue"}, {"tags", {"a", "b"}}},
                          [](JsonParamsTest&, json&) {
                              return std::vector<std::string>{"keys", "create",     "--owner",
                                                              "ci",   "--metadata", k_slot,
                                                              "-o",   "json"};
                          },
                          [](JsonParamsTest& t, const RunResult& r, const json& v) {
                              const auto id = t.parse_out(r).value("id", "");
                              EXPECT_EQ(t.ok_json({"keys", "show", id}).at("metadata"), v);
                          }};
    out["keys.update"] = {
        "metadata", json{{"rotated", true}},
        [](JsonParamsTest& t, json&) {
            const auto id = JsonParamsTest::id_of(t.create_key());
            return std::vector<std::string>{"keys", "update", id, "--metadata", k_slot};
        },
        [](JsonParamsTest& t, const RunResult&, const json& v) {
            EXPECT_EQ(t.ok_json({"keys", "show", t.last_args[2]}).at("metadata"), v);
        }};
    out["states.register"] = {"data", json{{"open", false}, {"n", 3}},
                              [](JsonParamsTest&, json&) {
                                  return std::vector<std::string>{"states", "register", "gate",
                                                                  "--type", "feature",  "--data",
                                                                  k_slot};
                              },
                              [](JsonParamsTest& t, const RunResult&, const json& v) {
                                  EXPECT_EQ(t.ok_json({"states", "get", "gate"}).at("data"), v);
                              }};
    out["states.update"] = {
        "data", json{{"open", true}},
        [](JsonParamsTest& t, json&) {
            t.ok({"states", "register", "gate", "--type", "feature", "--data", R"({"old":1})"});
            return std::vector<std::string>{"states",    "update", "gate",
                                            "--replace", "--data", k_slot};
        },
        [](JsonParamsTest& t, const RunResult&, const json& v) {
            EXPECT_EQ(t.ok_json({"states", "get", "gate"}).at("data"), v);
        }};
    out["secrets.configure"] = {
        "custom_metadata", json{{"owner", "team-a"}},
        [](JsonParamsTest& t, json&) {
            t.ok({"vault", "put", "app/db", "user=svc"});
            return std::vector<std::string>{"vault", "configure", "app/db", "--custom", k_slot};
        },
        [](JsonParamsTest& t, const RunResult&, const json& v) {
            EXPECT_EQ(t.ok_json({"vault", "metadata", "app/db"}).at("custom_metadata"), v);
        }};
    out["tokens.issue"] = {
        "claims", json{{"tenant", "t-7"}, {"roles", {"r1"}}},
        [](JsonParamsTest&, json&) {
            return std::vector<std::string>{"tokens",   "issue", "--sub", "u1",
                                            "--claims", k_slot,  "-q"};
        },
        [](JsonParamsTest& t, const RunResult& r, const json& v) {
            const auto claims =
                json::parse(t.ok({"tokens", "inspect", "-", "-o", "json"}, trimmed(r.out) + "\n"),
                            nullptr, false)
                    .value("claims", json::object());
            EXPECT_EQ(claims.value("tenant", json()), v["tenant"]) << claims.dump();
            EXPECT_EQ(claims.value("roles", json()), v["roles"]) << claims.dump();
        }};
    out["bans.import"] = {
        "document", json{{"bans", {{{"target", "203.0.113.7"}, {"reason", "json params"}}}}},
        [](JsonParamsTest&, json&) {
            return std::vector<std::string>{"bans", "import", "--document", k_slot};
        },
        [](JsonParamsTest& t, const RunResult&, const json&) {
            const auto bans = t.ok_json({"bans", "list"}).at("bans");
            ASSERT_EQ(bans.size(), 1U) << bans.dump();
            EXPECT_EQ(bans[0].at("target"), "203.0.113.7");
            EXPECT_EQ(bans[0].at("reason"), "json params");
        }};
    out["actions.run"] = {
        "args", json{{"word", "w-1"}},
        [](JsonParamsTest&, json&) {
            return std::vector<std::string>{"actions", "run", "echo", "--args-json",
                                            k_slot,    "-o",  "json"};
        },
        [](JsonParamsTest& t, const RunResult& r, const json&) {
            const auto result = t.parse_out(r);
            const auto printed = json::parse(result.value("stdout", ""), nullptr, false);
            EXPECT_EQ(printed.value("argv", json()), json::array({"w-1"})) << result.dump();
        }};
    // A JWK (the issue's `pbctl tokens keys import FILE`): pb's own public key from
    // another database, imported as an outside key.
    out["tokens.keys.import"] = {
        "jwk", json(),
        [](JsonParamsTest& t, json& value) {
            const auto db = t.env["PB_DB"];
            t.env["PB_DB"] = t.dir.file("jwk-source.db");
            t.ok({"tokens", "keys", "rotate"});  // a signing key, so the JWKS has one
            const auto jwks = t.ok_json({"tokens", "jwks"});
            t.env["PB_DB"] = db;
            const auto keys = jwks.value("keys", json::array());
            EXPECT_FALSE(keys.empty()) << jwks.dump();
            value = keys.empty() ? json::object() : keys.back();
            return std::vector<std::string>{"tokens", "keys", "import", k_slot, "--verify-only"};
        },
        [](JsonParamsTest& t, const RunResult&, const json& v) {
            const auto keys = t.ok_json({"tokens", "keys", "list"}).at("keys");
            bool found = false;
            for (const auto& k : keys) {
                found = found || k.value("kid", "") == v.value("kid", "?");
            }
            EXPECT_TRUE(found) << keys.dump();
        }};
    return out;
}

// The arguments that reach `jp` with every other required param filled with a
// placeholder: for ops without a recipe, where only arrival can be checked.
std::vector<std::string> generic_args(const JsonParam& jp) {
    std::vector<std::string> args;
    std::string path = jp.op->cli_path();
    for (auto dot = path.find('.'); dot != std::string::npos; dot = path.find('.')) {
        args.push_back(path.substr(0, dot));
        path.erase(0, dot + 1);
    }
    args.push_back(path);
    // A positional before the JSON param must be there, required or not.
    const bool target_positional = jp.param->positional == ops::Positional::yes;
    bool before_target = true;
    for (const auto& p : jp.op->params) {
        const bool is_target = &p == jp.param;
        before_target = before_target && !is_target;
        if (!is_target && p.required == ops::Required::no &&
            !(target_positional && before_target && p.positional == ops::Positional::yes)) {
            continue;
        }
        std::string value = k_slot;
        if (!is_target) {
            switch (p.type) {
                case ops::ParamType::integer:
                    value = std::to_string(std::max<std::int64_t>(p.min, 1));
                    break;
                case ops::ParamType::duration:
                    value = "1h";
                    break;
                case ops::ParamType::time:
                    value = "1d";
                    break;
                case ops::ParamType::boolean:
                    continue;
                default:
                    value = p.choices.empty() ? "pbtest" : p.choices.front();
            }
        }
        if (p.positional == ops::Positional::no) {
            args.push_back(ops::param_label(p, ops::NameStyle::flag));
        }
        args.push_back(value);
    }
    return args;
}

constexpr auto npos = std::string::npos;

// Pins issue 20 item 10: every JSON param of every op (walked from the op
// table) reaches the op from inline JSON, a path, @path and -. Each is run
// with placeholders around it (the same outcome in all four forms, and not the
// refusal that a broken text in the same form gets, so the check can fail);
// ops with a recipe also show the value's effect, read back from the database.
TEST_F(JsonParamsTest, EveryJsonParamArrivesInEachForm) {
    const auto all = json_params();
    ASSERT_GE(all.size(), 8U);
    const auto known = recipes();
    std::size_t effects_checked = 0;
    std::size_t recipes_in_table = 0;
    for (const auto& jp : all) {
        const auto label = ops::param_label(*jp.param, ops::NameStyle::flag);
        const auto it = known.find(jp.op->name);
        const Recipe* recipe =
            it != known.end() && it->second.param == jp.param->name ? &it->second : nullptr;
        recipes_in_table += recipe != nullptr ? 1 : 0;
        RunResult first;
        for (const auto form : k_forms) {
            SCOPED_TRACE(jp.op->name + " " + label + " as " + form_name(form));
            const auto tag =
                jp.op->name + "-" + jp.param->name + "-" + std::to_string(static_cast<int>(form));
            fresh_db("generic-" + tag);
            const json placeholder = {{"pb_json_params_test", "value"}};
            const auto args = generic_args(jp);
            const auto broken = run_in_form(args, placeholder, form, "{not json");
            EXPECT_EQ(broken.exit_code, 2) << describe(last_args, broken);
            EXPECT_NE(broken.err.find(label + ": not valid JSON"), npos)
                << describe(last_args, broken);
            const auto got = run_in_form(args, placeholder, form);
            EXPECT_EQ(got.err.find(label + ": not valid JSON"), npos) << describe(last_args, got);
            EXPECT_EQ(got.err.find("cannot read"), npos) << describe(last_args, got);
            EXPECT_EQ(got.err.find("json.exception"), npos) << describe(last_args, got);
            if (form == Form::inline_json) {
                first = got;
            } else {
                EXPECT_EQ(got.exit_code, first.exit_code) << describe(last_args, got);
                EXPECT_EQ(got.err, first.err) << describe(last_args, got);
            }
            if (recipe == nullptr) {
                continue;
            }
            fresh_db("recipe-" + tag);
            json value = recipe->value;
            const auto recipe_args = recipe->setup(*this, value);
            const auto ran = run_in_form(recipe_args, value, form);
            ASSERT_EQ(ran.exit_code, 0) << describe(last_args, ran);
            recipe->check(*this, ran, value);
            ++effects_checked;
        }
    }
    // Every recipe whose op is in the table ran in all four forms.
    EXPECT_EQ(effects_checked, recipes_in_table * k_forms.size());
    EXPECT_GE(recipes_in_table, 7U);
}

// A file that cannot be read is refused naming the parameter and the path, exit
// 2, with nothing written; never a library's exception text.
TEST_F(JsonParamsTest, UnreadableFileNamesParamAndPath) {
    fs::create_directories(dir.file("a-dir"));
    const std::vector<std::pair<std::string, std::string>> cases{
        {"/nonexistent/m.json",
         "pbctl: --metadata: cannot read file /nonexistent/m.json: No such file or directory\n"},
        {"@/nonexistent/m.json",
         "pbctl: --metadata: cannot read file /nonexistent/m.json: No such file or directory\n"},
        {dir.file("a-dir"),
         "pbctl: --metadata: cannot read file " + dir.file("a-dir") + ": it is a directory\n"},
        {"@", "pbctl: --metadata: \"@\" needs a file path after it\n"},
        {"not-json-and-not-a-file",
         "pbctl: --metadata: cannot read file not-json-and-not-a-file: No such file or "
         "directory\n"},
    };
    for (const auto& [value, message] : cases) {
        const auto r = pbctl({"keys", "create", "--owner", "ci", "--metadata", value});
        EXPECT_EQ(r.exit_code, 2) << describe({value}, r);
        EXPECT_EQ(r.err, message);
    }
    EXPECT_EQ(ok_json({"keys", "list"}).at("keys").size(), 0U);
}

// A file or stdin larger than server.max_body (the most pbd takes as a body)
// is refused before it is all read.
TEST_F(JsonParamsTest, FilesAndStdinAreBounded) {
    env["PB_MAX_BODY"] = "64";
    const std::string big = json{{"pad", std::string(100, 'x')}}.dump();
    std::ofstream(dir.file("big.json")) << big;
    auto r = pbctl({"keys", "create", "--owner", "ci", "--metadata", "@" + dir.file("big.json")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "pbctl: --metadata: cannot read file " + dir.file("big.json") +
                         ": larger than 64 bytes\n");
    r = pbctl({"keys", "create", "--owner", "ci", "--metadata", "-"}, big);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "pbctl: --metadata: stdin holds more than 64 bytes\n");
    // Within the bound it passes.
    const std::string small = R"({"a":"b"})";
    EXPECT_EQ(ok_json({"keys", "create", "--owner", "ci", "--metadata", small}).at("metadata"),
              json::parse(small));
    EXPECT_EQ(ok_json({"keys", "list"}).at("keys").size(), 1U);
}

// Stdin is read once per invocation: a second "-" is a usage error (exit 2)
// naming both, whether two params (any op that has two that read "-") or two
// NAME=VALUE fields.
TEST_F(JsonParamsTest, StdinIsReadOnce) {
    auto r = pbctl({"vault", "put", "app/db", "a=-", "b=-"}, "x\n");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("field \"b\": stdin (\"-\") is already read for DATA: field \"a\""), npos)
        << r.err;
    EXPECT_EQ(pbctl({"vault", "get", "app/db"}).exit_code, 4);
    for (const auto& op : runtime::op_table().all()) {
        if (op.websocket_only()) {
            continue;  // no pbctl command
        }
        std::vector<const ops::Param*> dashes;
        for (const auto& p : op.params) {
            if ((p.type == ops::ParamType::json_object && p.words == ops::FieldWords::no) ||
                (p.secret == ops::Secret::yes && p.type == ops::ParamType::string)) {
                dashes.push_back(&p);
            }
        }
        if (dashes.size() < 2) {
            continue;
        }
        SCOPED_TRACE(op.name);
        std::vector<std::string> args;
        std::string path = op.cli_path();
        for (auto dot = path.find('.'); dot != npos; dot = path.find('.')) {
            args.push_back(path.substr(0, dot));
            path.erase(0, dot + 1);
        }
        args.push_back(path);
        for (const auto* p : dashes) {
            if (p->positional == ops::Positional::no) {
                args.push_back(ops::param_label(*p, ops::NameStyle::flag));
            }
            args.push_back("-");
        }
        r = pbctl(args, "{}\n");
        EXPECT_EQ(r.exit_code, 2) << describe(args, r);
        EXPECT_NE(r.err.find("stdin (\"-\") is already read for"), npos) << describe(args, r);
    }
}

// ParamInput itself: a second claim on stdin is refused whatever asks for it
// (a JSON param, a secret, a word), before anything more is read.
TEST(ParamInput, StdinIsClaimedOnce) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string text = "{\"a\":1}\n";
    ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fds[1]);
    const ops::Param meta{.name = "metadata", .type = ops::ParamType::json_object, .help = "h"};
    const ops::Param token{.name = "token",
                           .help = "h",
                           .positional = ops::Positional::yes,
                           .secret = ops::Secret::yes};
    ParamInput input(1024, fds[0]);
    EXPECT_EQ(input.json_text(meta, "-"), "{\"a\":1}");
    try {
        input.stdin_text(token);
        ADD_FAILURE() << "read stdin twice";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(std::string(e.what()),
                  "TOKEN: stdin (\"-\") is already read for --metadata; give one of them from "
                  "a file");
        EXPECT_EQ(e.details().at("param"), "token");
    }
    EXPECT_THROW(input.json_text(meta, "-"), Error);
    // Inline JSON is taken as it is, leading blanks included; other text is a path.
    EXPECT_EQ(input.json_text(meta, " {\"b\":2}"), " {\"b\":2}");
    EXPECT_THROW(input.json_text(meta, "[1]"), Error);
    ::close(fds[0]);
}

}  // namespace
}  // namespace pb::cli::test
