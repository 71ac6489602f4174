#include "common/docs/man_page.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

#include "common/core/config.hpp"
#include "common/core/error.hpp"
#include "common/docs/command_line.hpp"
#include "common/ops/route_template.hpp"

namespace pb::docs {
namespace {

constexpr std::string_view k_type_names[] = {"text", "integer", "boolean", "duration"};

std::string title_line(std::string_view name, int section, std::string_view version,
                       std::string_view manual) {
    std::ostringstream s;
    s << ".TH " << name << ' ' << section << " \"\" \"pb " << version << "\" \"" << manual
      << "\"\n";
    // Left-aligned and unhyphenated: long option lists cannot be justified.
    s << ".ad l\n.nh\n";
    return s.str();
}

std::string flag_line(const FlagSpec& f) {
    std::string names;
    for (const auto& n : f.names) {
        names += (names.empty() ? "" : ", ") + ("\\fB" + roff(n) + "\\fR");
    }
    if (!f.value_name.empty()) {
        names += " \\fI" + roff(f.value_name) + "\\fR";
    }
    return names;
}

void write_flags(std::ostringstream& s, const std::vector<FlagSpec>& flags) {
    for (const auto& f : flags) {
        if (f.names.empty() || f.names.front() == "--help") {
            continue;
        }
        s << ".TP\n" << flag_line(f) << '\n' << roff(f.help);
        if (!f.choices.empty()) {
            std::string list;
            for (const auto& c : f.choices) {
                list += (list.empty() ? "" : ", ") + c;
            }
            if (f.help.find(list) == std::string::npos) {
                s << " One of: " << roff(list) << '.';
            }
        }
        s << '\n';
    }
}

// A command's help footer: its prose, then its examples (command lines, set
// as code so that they copy and paste).
void write_footer(std::ostringstream& s, std::string_view footer) {
    const auto at = footer.find(k_examples_heading);
    auto prose = footer.substr(0, at);
    while (!prose.empty() && prose.back() == '\n') {
        prose.remove_suffix(1);
    }
    if (!prose.empty()) {
        s << roff(prose) << '\n';
    }
    if (at == std::string_view::npos) {
        return;
    }
    s << ".PP\nExamples:\n.PP\n.RS 4\n.nf\n";
    auto rest = footer.substr(at + k_examples_heading.size());
    while (!rest.empty()) {
        auto line = rest.substr(0, rest.find('\n'));
        rest.remove_prefix(std::min(rest.size(), line.size() + 1));
        while (!line.empty() && line.front() == ' ') {
            line.remove_prefix(1);
        }
        s << roff(line) << '\n';
    }
    s << ".fi\n.RE\n";
}

std::string query_escaped(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if (std::isalnum(b) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
            out += c;
        } else {
            out += '%';
            out += k_hex[b >> 4];
            out += k_hex[b & 15];
        }
    }
    return out;
}

// An op's example as the HTTP request that makes it: the request line, and
// the JSON body for a method that sends one (GET and DELETE take a query).
std::string http_example(const ops::Op& op, nlohmann::json args) {
    std::string line = op.route.method + ' ' + ops::RouteTemplate(op.route.path).expand(args);
    const bool query = op.route.method == "GET" || op.route.method == "DELETE";
    if (!query) {
        return args.empty() ? line : line + '\n' + args.dump();
    }
    char sep = '?';
    for (const auto& [k, v] : args.items()) {
        for (const auto& item : v.is_array() ? v : nlohmann::json::array({v})) {
            const auto text = item.is_string() ? item.get<std::string>() : item.dump();
            line += sep + k + '=' + query_escaped(text);
            sep = '&';
        }
    }
    return line;
}

std::string synopsis(const CommandSpec& c, std::string_view program) {
    std::string line = "\\fB" + std::string(program);
    for (const auto& p : c.path) {
        line += ' ' + roff(p);
    }
    line += "\\fR";
    for (const auto& p : c.positionals) {
        line += " \\fI" + roff(p) + "\\fR";
    }
    for (const auto& f : c.flags) {
        if (f.names.empty() || f.names.front() == "--help") {
            continue;
        }
        line += " [\\fB" + roff(f.names.front()) + "\\fR";
        if (!f.value_name.empty()) {
            line += " \\fI" + roff(f.value_name) + "\\fR";
        }
        line += ']';
    }
    return line;
}

void write_environment(std::ostringstream& s, ConfigScope skip) {
    s << ".SH ENVIRONMENT\n"
         "Each setting of \\fBpb.yaml\\fR(5) may also be given in the environment; a flag "
         "wins over the environment, which wins over the file.\n";
    for (const auto& k : config_keys()) {
        if (k.scope == skip || k.env.empty()) {
            continue;
        }
        s << ".TP\n\\fB" << roff(k.env) << "\\fR\n"
          << roff(k.help) << " (\\fB" << roff(k.key) << "\\fR)\n";
    }
}

void write_exit_status(std::ostringstream& s) {
    s << ".SH EXIT STATUS\n.TP\n\\fB0\\fR\nSuccess.\n";
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        const auto code = static_cast<ErrorCode>(i);
        s << ".TP\n\\fB" << exit_code(code) << "\\fR\n\\fB" << roff(to_string(code))
          << "\\fR (HTTP " << http_status(code) << ")\n";
    }
}

// What a WebSocket message's param holds, for people.
std::string type_word(const ops::Param& p) {
    switch (p.type) {
        case ops::ParamType::integer:
            return "integer";
        case ops::ParamType::boolean:
            return "boolean";
        case ops::ParamType::duration:
            return "duration";
        case ops::ParamType::time:
            return "time";
        case ops::ParamType::string_list:
            return "list of text";
        case ops::ParamType::json_object:
            return "JSON object";
        case ops::ParamType::json_value:
            return "any JSON value";
        case ops::ParamType::string:
            break;
    }
    return "text";
}

// The WebSocket: its messages, and the ops only a socket serves, each with
// its params, the frames it makes pbd push, and its examples as messages.
void write_websocket(std::ostringstream& s, const ops::OpTable& table) {
    s << ".SH WEBSOCKET\n"
         "pbd speaks WebSocket at \\fB/ws\\fR on the same port. A request is a text message "
         "\\fB{\"id\":1,\"op\":\"states.get\",\"args\":{\"id\":\"user_1\"}}\\fR, answered "
         "\\fB{\"id\":1,\"ok\":true,\"result\":{...}}\\fR or "
         "\\fB{\"id\":1,\"ok\":false,\"error\":{\"code\",\"message\",\"details\"}}\\fR; requests "
         "of one socket are answered one at a time, in order. Every op of the HTTP routes above "
         "may be sent by its name, with its arguments as one JSON object; a socket "
         "authenticates first (with its upgrade's headers, or \\fBauthenticate\\fR), and each "
         "op is then admitted as one HTTP request would be. These ops are served on a socket "
         "only:\n";
    for (const auto& op : table.all()) {
        if (!op.websocket_only()) {
            continue;
        }
        s << ".TP\n\\fB" << roff(op.name) << "\\fR\n" << roff(op.summary) << '.';
        if (!op.permission.empty()) {
            s << " Needs \\fB" << roff(op.permission) << "\\fR.";
        } else if (op.before_auth == ops::BeforeAuth::allowed) {
            s << " Needs no credential.";
        }
        if (!op.description.empty()) {
            s << ' ' << roff(op.description);
        }
        s << '\n';
        s << ".RS\n";
        for (const auto& p : op.params) {
            s << ".TP\n\\fB" << roff(p.name) << "\\fR (" << type_word(p)
              << (p.required == ops::Required::yes ? ", required" : "") << ")\n"
              << roff(p.help) << '\n';
        }
        for (const auto& push : op.pushes) {
            s << ".TP\nthen pushes \\fB" << roff(push.name) << "\\fR\n"
              << roff(push.summary) << ":\n.nf\n"
              << roff(push.example.dump()) << "\n.fi\n";
        }
        for (const auto& ex : op.examples) {
            const nlohmann::json request{{"id", 1}, {"op", op.name}, {"args", ex.args}};
            const nlohmann::json answer{{"id", 1}, {"ok", true}, {"result", ex.result}};
            s << ".PP\n"
              << roff(ex.summary) << ":\n.PP\n.nf\n"
              << roff("-> " + request.dump()) << '\n'
              << roff("<- " + answer.dump()) << "\n.fi\n";
        }
        s << ".RE\n";
    }
}

}  // namespace

std::string roff(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    bool line_start = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (line_start && (c == '.' || c == '\'')) {
            out += "\\&";
        }
        line_start = c == '\n';
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else if (static_cast<unsigned char>(c) >= 0x80) {
            // groff reads bytes, not UTF-8: a character goes as \[uXXXX].
            const auto b = static_cast<unsigned char>(c);
            const int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
            unsigned cp = b & (0x3Fu >> extra);
            for (int k = 0; k < extra && i + 1 < text.size(); ++k) {
                cp = (cp << 6) | (static_cast<unsigned char>(text[++i]) & 0x3Fu);
            }
            char buf[16];
            std::snprintf(buf, sizeof buf, "\\[u%04X]", cp);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string pbctl_man_page(const CommandSpec& pbctl, std::string_view version) {
    std::ostringstream s;
    s << title_line("PBCTL", 1, version, "User Commands");
    s << ".SH NAME\npbctl \\- manage API keys, tokens, states, bans, limits, secrets and "
         "actions\n";
    s << ".SH SYNOPSIS\n\\fBpbctl\\fR [\\fIglobal options\\fR] \\fIgroup\\fR \\fIverb\\fR "
         "[\\fIarguments\\fR] [\\fIoptions\\fR]\n";
    s << ".SH DESCRIPTION\n"
         "\\fBpbctl\\fR works on pb's database directly (local mode, the default), or sends "
         "the same command to a running \\fBpbd\\fR(8) with \\fB\\-\\-server\\fR. Output is a "
         "table on a terminal, JSON with \\fB\\-o json\\fR, and the one value a script wants "
         "with \\fB\\-q\\fR. A secret argument given as \\fB\\-\\fR is read from standard input, "
         "so it never shows in \\fBps\\fR(1) or shell history.\n";
    s << ".SH GLOBAL OPTIONS\nThese apply to every command.\n";
    write_flags(s, pbctl.flags);
    s << ".SH COMMANDS\n";
    for_each_command(pbctl, [&](const CommandSpec& c) {
        if (c.path.empty() || !c.commands.empty()) {
            return;  // groups only list their verbs
        }
        s << ".SS " << synopsis(c, "pbctl") << '\n' << roff(c.summary) << ".\n";
        write_footer(s, c.footer);
        write_flags(s, c.flags);
    });
    write_exit_status(s);
    write_environment(s, ConfigScope::daemon);
    s << ".SH SEE ALSO\n\\fBpbd\\fR(8), \\fBpb.yaml\\fR(5)\n";
    return s.str();
}

std::string pbd_man_page(const CommandSpec& pbd, const ops::OpTable& table,
                         std::string_view version) {
    std::ostringstream s;
    s << title_line("PBD", 8, version, "System Administration");
    s << ".SH NAME\npbd \\- pb's daemon: pb's operations over HTTP and WebSocket\n";
    s << ".SH SYNOPSIS\n" << synopsis(pbd, "pbd") << '\n';
    s << ".SH DESCRIPTION\n"
         "\\fBpbd\\fR serves every operation of \\fBpbctl\\fR(1) on one port, with HTTP/1.1 "
         "keep-alive. Callers authenticate with an API key (\\fBAuthorization: Bearer\\fR or "
         "\\fBX\\-API\\-Key\\fR) or a JWT that pb issued; each operation checks its "
         "permission. pbd enforces bans and rate limits on its own clients. On first start "
         "with no active admin key it creates one and prints it once.\n";
    s << ".SH OPTIONS\n";
    write_flags(s, pbd.flags);
    s << ".SH SIGNALS\n.TP\n\\fBSIGTERM\\fR, \\fBSIGINT\\fR\nStop accepting, finish the "
         "requests in flight, record key usage and exit.\n.TP\n\\fBSIGHUP\\fR\nReload the "
         "configuration, as \\fBpbctl \\-\\-server\\fR \\fIURL\\fR \\fBreload\\fR does: "
         "limits and bans policies, the allow\\-list, trusted proxies, token and JWKS "
         "settings, actions, the log level and format, events retention; connections and "
         "WebSocket subscribers stay. A file with a problem changes nothing (the log says "
         "why); a changed setting that needs a restart (the listen address, the database, "
         "Redis, \\fBws.*\\fR) is logged and left for the next start.\n";
    s << ".SH HTTP ROUTES\n"
         "Besides \\fB/health\\fR, \\fB/ready\\fR, \\fB/metrics\\fR (Prometheus text), "
         "\\fB/v1/auth\\fR (for a reverse proxy's \\fBauth_request\\fR) and "
         "\\fB/openapi.json\\fR (this API as an OpenAPI 3.1 document, with each route's "
         "parameters, request and response schemas, errors and examples; no credential; "
         "\\fBpbctl openapi\\fR prints the same) and \\fB/asyncapi.json\\fR (the WebSocket "
         "messages as an AsyncAPI 3.0 document; \\fBpbctl asyncapi\\fR prints the same):\n";
    for (const auto& op : table.all()) {
        if (op.websocket_only()) {
            continue;
        }
        s << ".TP\n\\fB" << op.route.method << ' ' << roff(op.route.path) << "\\fR\n"
          << roff(op.summary) << '.';
        if (!op.permission.empty()) {
            s << " Needs \\fB" << roff(op.permission) << "\\fR.";
        }
        s << '\n';
        for (const auto& ex : op.examples) {
            s << ".RS 4\n.PP\n"
              << roff(ex.summary) << ":\n.nf\n"
              << roff(http_example(op, ex.args)) << "\n.fi\n.RE\n";
        }
    }
    s << ".SH HTTP ERRORS AND RATE LIMITS\n"
         "Every HTTP error is an RFC 9457 problem document, \\fBContent\\-Type: "
         "application/problem+json\\fR: \\fBtype\\fR (\\fBurn:pb:problem:\\fR and the code "
         "in kebab case, e.g. \\fBnot\\-found\\fR; for 429 \\fBquota\\-exceeded\\fR), "
         "\\fBtitle\\fR, \\fBstatus\\fR, \\fBdetail\\fR (the message), \\fBcode\\fR (the "
         "code below, as in WebSocket frames and \\fBpbctl \\-o json\\fR) and the error's "
         "details as members beside them (\\fBparam\\fR, \\fBreason\\fR; a 429 names "
         "\\fBviolated\\-policies\\fR). WebSocket error frames keep "
         "\\fB{\"code\",\"message\",\"details\"}\\fR.\n"
         ".PP\n"
         "A request counted by rate limits is answered with \\fBRateLimit\\-Policy\\fR, "
         "every policy that counted it (\\fB\"ip\";q=100;w=60, \"key\";q=10;w=1\\fR: the "
         "address's, then the key's or user's; \\fBq\\fR the burst, \\fBw\\fR the seconds it "
         "takes to earn it back), and \\fBRateLimit\\fR, the most restrictive "
         "(\\fB\"key\";r=0;t=6\\fR: remaining, seconds until full), per "
         "draft\\-ietf\\-httpapi\\-ratelimit\\-headers\\-11; a 429 adds \\fBRetry\\-After\\fR. "
         "\\fBPOST /v1/limits/check\\fR and \\fBGET /v1/limits/{scope}/{id}\\fR tell the "
         "decision asked about in the same fields.\n"
         ".PP\n"
         "\\fB/.well\\-known/jwks.json\\fR answers GET and HEAD with \\fBCache\\-Control: "
         "public, max\\-age=300\\fR; a rotated key is published at once and signs only after "
         "six minutes, so a client caching that long never misses a signing key (retiring the "
         "old key makes the new one sign at once). Every other answer is "
         "\\fBCache\\-Control: no\\-store\\fR.\n";
    write_websocket(s, table);
    write_exit_status(s);
    write_environment(s, ConfigScope::cli);
    s << ".SH SEE ALSO\n\\fBpbctl\\fR(1), \\fBpb.yaml\\fR(5)\n";
    return s.str();
}

std::string pb_yaml_man_page(std::string_view version) {
    std::ostringstream s;
    s << title_line("PB.YAML", 5, version, "File Formats");
    s << ".SH NAME\npb.yaml \\- configuration of pbctl and pbd\n";
    s << ".SH DESCRIPTION\n"
         "A YAML file of nested keys: the setting \\fBserver.listen\\fR is written\n"
         ".PP\n.nf\nserver:\n  listen: 127.0.0.1:8700\n.fi\n.PP\n"
         "Each setting comes from, highest first: a command-line flag, its environment "
         "variable, this file, its built-in default. Durations are written like "
         "\\fB30s\\fR, \\fB15m\\fR, \\fB1h30m\\fR or \\fB7d\\fR. \\fBpbctl config explain\\fR "
         "\\fIKEY\\fR shows which source won; secret values are never printed. An unknown key "
         "is reported as a warning.\n";
    s << ".SH SETTINGS\n";
    for (const auto& k : config_keys()) {
        s << ".TP\n\\fB" << roff(k.key) << "\\fR (" << k_type_names[static_cast<int>(k.type)];
        if (!k.fallback.empty()) {
            s << ", default \\fB" << roff(k.fallback) << "\\fR";
        }
        s << ")\n" << roff(k.help);
        if (!k.env.empty()) {
            s << " Environment: \\fB" << roff(k.env) << "\\fR.";
        }
        if (k.sensitivity == Sensitivity::secret) {
            s << " Sensitive: never printed.";
        }
        s << '\n';
    }
    s << ".SH SEE ALSO\n\\fBpbctl\\fR(1), \\fBpbd\\fR(8)\n";
    return s.str();
}

}  // namespace pb::docs
