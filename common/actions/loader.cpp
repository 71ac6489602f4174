#include "common/actions/loader.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include "common/actions/args.hpp"
#include "common/actions/template.hpp"
#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/core/yaml_parse.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"

namespace pb::actions {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::regex k_action_name(R"([a-z0-9][a-z0-9._-]{0,63})");
const std::regex k_param_name(R"([a-z_][a-z0-9_]{0,63})");
const std::regex k_env_name(R"([A-Za-z_][A-Za-z0-9_]*)");

int line_of(const YAML::Node& n) {
    const auto m = n.Mark();
    return m.line >= 0 ? m.line + 1 : 0;
}

// Collects the problems of one file; each check reports and carries on, so one
// lint run shows everything wrong with the file.
class FileChecker {
  public:
    FileChecker(fs::path file, const ops::OpTable* table)
        : m_file(std::move(file)), m_table(table) {}

    LoadResult check() {
        LoadResult out;
        YAML::Node root;
        try {
            root = load_yaml_file(m_file.string());
        } catch (const YAML::BadFile&) {
            add(0, "cannot read the file");
        } catch (const YAML::ParserException& e) {
            add(e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML syntax error: " + e.msg);
        } catch (const YAML::Exception& e) {
            add(e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML error: " + e.msg);
        }
        if (m_problems.empty()) {
            Action a;
            a.file = m_file;
            try {
                parse(root, a);
            } catch (const YAML::Exception& e) {
                add(e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML error: " + e.msg);
            }
            if (m_problems.empty()) {
                out.action = std::move(a);
            }
        }
        out.problems = std::move(m_problems);
        return out;
    }

  private:
    void add(int line, std::string message) {
        m_problems.push_back(Problem{m_file.string(), line, std::move(message)});
    }

    // The map's keys, refusing duplicates and keys not in `allowed`.
    bool check_keys(const YAML::Node& map, const std::set<std::string>& allowed,
                    const std::string& where) {
        std::set<std::string> seen;
        bool ok = true;
        for (const auto& kv : map) {
            const auto key = kv.first.Scalar();
            if (!seen.insert(key).second) {
                add(line_of(kv.first), where + ": \"" + key + "\" appears twice");
                ok = false;
            } else if (!allowed.contains(key)) {
                std::string list;
                for (const auto& k : allowed) {
                    list += (list.empty() ? "" : ", ") + k;
                }
                add(line_of(kv.first),
                    where + ": unknown key \"" + key + "\" (expected " + list + ")");
                ok = false;
            }
        }
        return ok;
    }

    std::optional<std::string> scalar(const YAML::Node& map, const char* key, bool required,
                                      const std::string& where) {
        const auto n = map[key];
        if (!n) {
            if (required) {
                add(line_of(map), where + ": \"" + key + "\" is required");
            }
            return std::nullopt;
        }
        if (!n.IsScalar()) {
            add(line_of(n), where + ": \"" + key + "\" must be a single value");
            return std::nullopt;
        }
        return n.Scalar();
    }

    std::optional<bool> boolean(const YAML::Node& map, const char* key, const std::string& where) {
        const auto text = scalar(map, key, false, where);
        if (!text) {
            return std::nullopt;
        }
        if (*text == "true" || *text == "yes") {
            return true;
        }
        if (*text == "false" || *text == "no") {
            return false;
        }
        add(line_of(map[key]), where + ": \"" + key + "\" must be true or false");
        return std::nullopt;
    }

    static json to_json(const YAML::Node& n) {
        if (n.IsSequence()) {
            json a = json::array();
            for (const auto& item : n) {
                a.push_back(to_json(item));
            }
            return a;
        }
        if (n.IsMap()) {
            json o = json::object();
            for (const auto& kv : n) {
                o[kv.first.Scalar()] = to_json(kv.second);
            }
            return o;
        }
        if (n.IsScalar()) {
            return n.Scalar();
        }
        return nullptr;
    }

    void parse(const YAML::Node& root, Action& a) {
        if (!root.IsMap()) {
            add(line_of(root),
                "an action file holds one mapping (name, description, permission, "
                "params, run)");
            return;
        }
        a.line = line_of(root);
        check_keys(root, {"name", "description", "permission", "params", "run"}, "action");
        if (auto name = scalar(root, "name", true, "action")) {
            if (!std::regex_match(*name, k_action_name)) {
                add(line_of(root["name"]),
                    "name: \"" + *name +
                        "\" must be 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or "
                        "digit");
            }
            a.name = *name;
        }
        a.description = scalar(root, "description", true, "action").value_or("");
        a.permission = scalar(root, "permission", true, "action").value_or("");
        if (root["permission"] && a.permission.empty()) {
            add(line_of(root["permission"]), "permission: must not be empty");
        }
        if (const auto params = root["params"]) {
            if (!params.IsMap()) {
                add(line_of(params), "params: must be a mapping of parameter name to declaration");
            } else {
                std::set<std::string> seen;
                for (const auto& kv : params) {
                    const auto name = kv.first.Scalar();
                    if (!seen.insert(name).second) {
                        add(line_of(kv.first), "params: \"" + name + "\" appears twice");
                        continue;
                    }
                    parse_param(name, kv.first, kv.second, a);
                }
            }
        }
        const auto run = root["run"];
        if (!run) {
            add(a.line, "action: \"run\" is required (op: or command:)");
        } else if (!run.IsMap()) {
            add(line_of(run), "run: must be a mapping with op: or command:");
        } else if (run["op"] && run["command"]) {
            add(line_of(run), "run: give either op: or command:, not both");
        } else if (run["op"]) {
            parse_op(run, a);
        } else if (run["command"]) {
            parse_command(run, a);
        } else {
            add(line_of(run), "run: needs op: or command:");
        }
    }

    void parse_param(const std::string& name, const YAML::Node& key, const YAML::Node& decl,
                     Action& a) {
        const std::string where = "params." + name;
        ParamSpec p;
        p.name = name;
        p.line = line_of(key);
        if (!std::regex_match(name, k_param_name)) {
            add(p.line, where + ": a parameter name is a-z, 0-9 and '_', starting with a letter");
        }
        if (!decl.IsMap()) {
            add(line_of(decl), where + ": must be a mapping (type, required, default, ...)");
            return;
        }
        check_keys(decl,
                   {"type", "help", "description", "required", "default", "pattern", "min", "max",
                    "values", "secret", "roots"},
                   where);
        const auto type = scalar(decl, "type", false, where).value_or("string");
        if (auto kind = param_kind_from_string(type)) {
            p.kind = *kind;
        } else {
            add(line_of(decl["type"]), where + ": unknown type \"" + type +
                                           "\" (string, int, number, bool, enum, duration, list, "
                                           "path)");
            return;
        }
        p.help = scalar(decl, "help", false, where)
                     .value_or(scalar(decl, "description", false, where).value_or(""));
        p.required = boolean(decl, "required", where).value_or(false);
        p.secret = boolean(decl, "secret", where).value_or(false);
        if (auto pattern = scalar(decl, "pattern", false, where)) {
            if (p.kind == ParamKind::string || p.kind == ParamKind::list ||
                p.kind == ParamKind::path) {
                try {
                    p.pattern_re.emplace(*pattern, std::regex::ECMAScript);
                    p.pattern = *pattern;
                } catch (const std::regex_error& e) {
                    add(line_of(decl["pattern"]), where +
                                                      ": pattern is not a valid regular "
                                                      "expression: " +
                                                      e.what());
                }
            } else {
                add(line_of(decl["pattern"]), where + ": pattern applies to string, list and path");
            }
        }
        for (const char* bound : {"min", "max"}) {
            const auto text = scalar(decl, bound, false, where);
            if (!text) {
                continue;
            }
            std::optional<double> v;
            if (p.kind == ParamKind::duration) {
                if (auto ms = parse_duration(*text)) {
                    v = static_cast<double>(*ms);
                }
            } else {
                try {
                    std::size_t used = 0;
                    v = std::stod(*text, &used);
                    if (used != text->size()) {
                        v.reset();
                    }
                } catch (const std::exception&) {
                }
            }
            if (p.kind == ParamKind::boolean || p.kind == ParamKind::enumeration ||
                p.kind == ParamKind::path) {
                add(line_of(decl[bound]), where + ": " + bound + " does not apply to " + type);
            } else if (!v) {
                add(line_of(decl[bound]),
                    where + ": " + bound + " must be a " +
                        (p.kind == ParamKind::duration ? "duration" : "number"));
            } else {
                (std::string_view(bound) == "min" ? p.min : p.max) = v;
            }
        }
        if (p.min && p.max && *p.min > *p.max) {
            add(line_of(decl["min"]), where + ": min is greater than max");
        }
        if (const auto values = decl["values"]) {
            if (p.kind != ParamKind::enumeration) {
                add(line_of(values), where + ": values applies to enum only");
            } else if (!values.IsSequence() || values.size() == 0) {
                add(line_of(values), where + ": values must be a non-empty list");
            } else {
                for (const auto& v : values) {
                    p.values.push_back(v.Scalar());
                }
            }
        } else if (p.kind == ParamKind::enumeration) {
            add(p.line, where + ": an enum needs values");
        }
        if (const auto roots = decl["roots"]) {
            if (p.kind != ParamKind::path) {
                add(line_of(roots), where + ": roots applies to path only");
            } else if (!roots.IsSequence() || roots.size() == 0) {
                add(line_of(roots), where + ": roots must be a non-empty list of folders");
            } else {
                for (const auto& r : roots) {
                    fs::path root = r.Scalar();
                    if (!root.is_absolute()) {
                        add(line_of(r), where + ": a root must be an absolute path");
                    }
                    p.roots.push_back(root.lexically_normal());
                }
            }
        } else if (p.kind == ParamKind::path) {
            add(p.line, where + ": a path needs roots (the folders it must stay inside)");
        }
        if (const auto def = decl["default"]) {
            if (p.required) {
                add(line_of(def), where + ": a required parameter has no default");
            } else if (m_problems.empty()) {
                try {
                    p.fallback = coerce_value(p, to_json(def), a.name);
                } catch (const Error& e) {
                    add(line_of(def), where + ": bad default: " + e.what());
                }
            }
        }
        a.params.push_back(std::move(p));
    }

    // Each placeholder names a declared parameter; a list fills a whole element.
    void check_template(const std::string& text, const YAML::Node& at, const Action& a,
                        bool list_allowed) {
        std::vector<Piece> pieces;
        try {
            pieces = parse_template(text);
        } catch (const std::invalid_argument& e) {
            add(line_of(at), e.what());
            return;
        }
        for (const auto& piece : pieces) {
            if (!piece.is_param) {
                continue;
            }
            const auto* p = a.find_param(piece.text);
            if (p == nullptr) {
                add(line_of(at), "{{" + piece.text + "}} names no declared parameter");
            } else if (p->kind == ParamKind::list && (!list_allowed || pieces.size() != 1)) {
                add(line_of(at),
                    "{{" + piece.text +
                        "}} is a list: it must be a whole argv element or op argument");
            }
        }
    }

    void check_op_args(const json& tmpl, const YAML::Node& at, const Action& a) {
        if (tmpl.is_string()) {
            check_template(tmpl.get<std::string>(), at, a, true);
        } else if (tmpl.is_array() || tmpl.is_object()) {
            for (const auto& v : tmpl) {
                check_op_args(v, at, a);
            }
        }
    }

    void parse_op(const YAML::Node& run, Action& a) {
        check_keys(run, {"op", "args"}, "run");
        OpRun r;
        r.op = scalar(run, "op", true, "run").value_or("");
        const ops::Op* op = nullptr;
        if (m_table != nullptr && !r.op.empty()) {
            op = m_table->find(r.op);
            if (op == nullptr) {
                add(line_of(run["op"]), "run.op: no op \"" + r.op + "\"");
            } else if (r.op.starts_with("actions.")) {
                add(line_of(run["op"]), "run.op: an action cannot run the actions ops");
            } else if (op->websocket_only()) {
                add(line_of(run["op"]),
                    "run.op: \"" + r.op + "\" is a WebSocket session's op, not one an action runs");
            }
        }
        if (const auto args = run["args"]) {
            if (!args.IsMap()) {
                add(line_of(args), "run.args: must be a mapping of op parameter to value");
            } else {
                for (const auto& kv : args) {
                    const auto key = kv.first.Scalar();
                    if (op != nullptr &&
                        (op->find_param(key) == nullptr ||
                         !ops::param_on(*op->find_param(key), ops::Surface::text))) {
                        add(line_of(kv.first),
                            "run.args: " + r.op + " has no parameter \"" + key + "\"");
                    }
                    const auto value = to_json(kv.second);
                    check_op_args(value, kv.second, a);
                    r.args[key] = value;
                }
            }
        }
        if (op != nullptr) {
            for (const auto& p : op->params) {
                if (p.required != ops::Required::no && p.cli_only == ops::CliOnly::no &&
                    !r.args.contains(p.name)) {
                    add(line_of(run), "run.args: " + r.op + " needs \"" + p.name + "\"");
                }
            }
        }
        a.op = std::move(r);
    }

    void parse_command(const YAML::Node& run, Action& a) {
        check_keys(run, {"command", "timeout", "cwd", "env", "inherit_env", "max_output"}, "run");
        CommandRun r;
        const auto cmd = run["command"];
        if (!cmd.IsSequence() || cmd.size() == 0) {
            add(line_of(cmd), "run.command: must be a non-empty list (the argv; no shell)");
        } else {
            for (const auto& el : cmd) {
                if (!el.IsScalar()) {
                    add(line_of(el), "run.command: every element must be a single value");
                    continue;
                }
                r.argv.push_back(el.Scalar());
                if (r.argv.size() == 1) {
                    if (el.Scalar().find("{{") != std::string::npos) {
                        add(line_of(el), "run.command: the program (first element) must be fixed");
                    } else if (el.Scalar().empty()) {
                        add(line_of(el), "run.command: the program (first element) is empty");
                    }
                } else {
                    check_template(el.Scalar(), el, a, true);
                }
            }
        }
        if (auto t = scalar(run, "timeout", false, "run")) {
            const auto ms = parse_duration(*t);
            if (!ms || *ms <= 0) {
                add(line_of(run["timeout"]), "run.timeout: must be a duration like 30s or 5m");
            } else {
                r.timeout_ms = *ms;
            }
        }
        r.cwd = scalar(run, "cwd", false, "run").value_or("");
        if (auto m = scalar(run, "max_output", false, "run")) {
            try {
                std::size_t used = 0;
                const auto v = std::stoll(*m, &used);
                if (used != m->size() || v <= 0) {
                    throw std::invalid_argument("bad");
                }
                r.max_output = static_cast<std::size_t>(v);
            } catch (const std::exception&) {
                add(line_of(run["max_output"]),
                    "run.max_output: must be a positive number of "
                    "bytes");
            }
        }
        if (const auto env = run["env"]) {
            if (!env.IsMap()) {
                add(line_of(env), "run.env: must be a mapping of NAME to value");
            } else {
                for (const auto& kv : env) {
                    const auto name = kv.first.Scalar();
                    if (!std::regex_match(name, k_env_name)) {
                        add(line_of(kv.first), "run.env: \"" + name + "\" is not a variable name");
                    }
                    if (!kv.second.IsScalar()) {
                        add(line_of(kv.second), "run.env." + name + ": must be a single value");
                        continue;
                    }
                    check_template(kv.second.Scalar(), kv.second, a, false);
                    r.env[name] = kv.second.Scalar();
                }
            }
        }
        if (const auto inherit = run["inherit_env"]) {
            if (!inherit.IsSequence()) {
                add(line_of(inherit), "run.inherit_env: must be a list of variable names");
            } else {
                for (const auto& n : inherit) {
                    if (!n.IsScalar() || !std::regex_match(n.Scalar(), k_env_name)) {
                        add(line_of(n), "run.inherit_env: not a variable name");
                        continue;
                    }
                    r.inherit_env.push_back(n.Scalar());
                }
            }
        }
        a.command = std::move(r);
    }

    fs::path m_file;
    const ops::OpTable* m_table;
    std::vector<Problem> m_problems;
};

bool is_action_file(const fs::path& p) {
    const auto ext = p.extension().string();
    return ext == ".yaml" || ext == ".yml";
}

}  // namespace

std::string Problem::to_string() const {
    return file + ":" + std::to_string(line) + ": " + message;
}

LoadResult load_file(const fs::path& file, const ops::OpTable* table) {
    return FileChecker(file, table).check();
}

std::vector<fs::path> action_files(const fs::path& path, std::vector<Problem>& problems) {
    std::vector<fs::path> out;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        for (const auto& entry : fs::directory_iterator(path, ec)) {
            if (entry.is_regular_file(ec) && is_action_file(entry.path())) {
                out.push_back(entry.path());
            }
        }
        if (ec) {
            problems.push_back({path.string(), 0, "cannot read the folder: " + ec.message()});
        }
        std::sort(out.begin(), out.end());
    } else if (fs::exists(path, ec)) {
        out.push_back(path);
    } else {
        problems.push_back({path.string(), 0, "no such file or folder"});
    }
    return out;
}

Loaded load_paths(const std::vector<fs::path>& paths, const ops::OpTable* table) {
    Loaded out;
    std::set<std::string> names;
    for (const auto& path : paths) {
        for (const auto& file : action_files(path, out.problems)) {
            out.files.push_back(file.string());
            auto r = load_file(file, table);
            out.problems.insert(out.problems.end(), r.problems.begin(), r.problems.end());
            if (!r.action) {
                continue;
            }
            if (!names.insert(r.action->name).second) {
                out.problems.push_back({file.string(), r.action->line,
                                        "action \"" + r.action->name +
                                            "\" is already declared by an earlier file; skipped"});
                continue;
            }
            out.actions.push_back(std::move(*r.action));
        }
    }
    return out;
}

json lint(const std::vector<fs::path>& paths, const ops::OpTable* table) {
    json rows = json::array();
    std::vector<Problem> missing;
    std::size_t files = 0;
    std::size_t problems = 0;
    std::set<std::string> names;
    for (const auto& path : paths) {
        for (const auto& file : action_files(path, missing)) {
            ++files;
            auto r = load_file(file, table);
            if (r.action && !names.insert(r.action->name).second) {
                r.problems.push_back(
                    {file.string(), r.action->line,
                     "action \"" + r.action->name + "\" is already declared by an earlier file"});
            }
            if (r.problems.empty()) {
                rows.push_back({{"where", file.string()},
                                {"file", file.string()},
                                {"line", nullptr},
                                {"status", "ok"},
                                {"message", "action " + r.action->name}});
            }
            for (const auto& p : r.problems) {
                ++problems;
                rows.push_back({{"where", p.file + ":" + std::to_string(p.line)},
                                {"file", p.file},
                                {"line", p.line},
                                {"status", "error"},
                                {"message", p.message}});
            }
        }
    }
    for (const auto& p : missing) {
        ++problems;
        rows.push_back({{"where", p.file},
                        {"file", p.file},
                        {"line", p.line},
                        {"status", "error"},
                        {"message", p.message}});
    }
    const bool ok = problems == 0 && files > 0;
    std::string summary =
        std::to_string(files) + " file(s) checked, " + std::to_string(problems) + " problem(s)";
    if (files == 0 && problems == 0) {
        summary = "no action files found";
    }
    return json{{"ok", ok}, {"summary", summary}, {"files", rows}};
}

json lint_schema() {
    using namespace ops::schema;
    return named("ActionLint",
                 object({{"ok", boolean()},
                         {"summary", string()},
                         {"files", array(object({{"where", string("file or file:line")},
                                                 {"file", string()},
                                                 {"line", nullable(integer())},
                                                 {"status", choice({"ok", "error"})},
                                                 {"message", string()}}))}}));
}

}  // namespace pb::actions
