#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/error.hpp"
#include "common/ops/service_registry.hpp"

namespace pb::ops {

// How an argument is typed, and its JSON form: the one HTTP bodies and
// WebSocket messages take (validate_args, Surface::json) and validation returns:
//   string      -> string
//   integer     -> integer
//   boolean     -> true or false
//   duration    -> integer milliseconds, or its text ("1h30m", a documented format)
//   time        -> integer Unix ms, RFC 3339 text, a duration from now ("30d"), or
//                  null for "never"; validation returns Unix ms or null
//   string_list -> array of strings
//   json_object -> object
// Where values are text (pbctl's command line, a query string, an action's
// YAML) their text spellings are read first (ops/validate.hpp, from_text):
// "12", "true"/"yes"/"1", one string for a list of one, JSON text for an
// object, "never". pbctl reads an object's text inline, from a file path,
// "@path" or "-" (stdin), unless the param takes NAME=VALUE words
// (FieldWords::yes).
//   json_value  -> any JSON value, as sent (a WebSocket room message's data)
enum class ParamType {
    string,
    integer,
    boolean,
    duration,
    time,
    string_list,
    json_object,
    json_value
};

// `api`: required of HTTP and WebSocket callers, while pbctl may give it by a
// CliOnly param instead (bans import FILE becomes the `document`).
enum class Required { no, yes, api };
enum class Positional { no, yes };
enum class Secret { no, yes };
enum class Mutates { no, yes };
// How pbctl takes a json_object param: one JSON text (inline, a path, @path or
// -), or NAME=VALUE words, the rest of the command line (a positional only).
enum class FieldWords { no, yes };
// A pbctl convenience, not part of the HTTP/WebSocket contract (`--claim
// NAME=VALUE`, a FILE pbctl reads): pbctl accepts it and the op's from_cli
// turns it into the JSON form before dispatch; bodies and messages that name
// it are refused as naming an unknown field, and the API's documents omit it.
enum class CliOnly { no, yes };
// The length bound of a string param: generic text is bounded by validation
// (k_max_text_chars); a token's bound is the configured tokens.max_size, which
// the token service checks with its own answer, so every surface (HTTP,
// WebSocket, pbctl, /v1/auth) refuses the same tokens the same way.
enum class TextBound { text, token };

// One parameter of an operation.
struct Param {
    std::string name;  // JSON / HTTP name, e.g. "permissions"
    ParamType type = ParamType::string;
    std::string help;
    Required required = Required::no;
    Positional positional = Positional::no;
    // A secret is redacted in audit and logs; as a positional the CLI reads it
    // from stdin when given as "-".
    Secret secret = Secret::no;
    // NAME=VALUE words instead of JSON on pbctl's command line; each VALUE as
    // is, "-" from stdin or "@path" from a file (`vault put app/db user=svc pw=-`).
    FieldWords words = FieldWords::no;
    nlohmann::json fallback = nullptr;  // default applied by validate_args; null = absent
    std::vector<std::string> choices;   // allowed values of a string, if limited
    std::string flag;                   // CLI long flag when not the name ("perm")
    std::int64_t min = 0;               // lower bound of an integer
    // Where shell completion finds live values: a list op and the field of its
    // rows, e.g. {"states.list", "id"}. Completion runs it locally, so only for
    // lists that are cheap to read.
    std::pair<std::string, std::string> values_from;
    // The JSON Schema of the value when its type alone does not say it (an
    // object of known fields, an array of objects); null: derived from `type`
    // (ops/schema.hpp, param_schema).
    nlohmann::json schema = nullptr;
    CliOnly cli_only = CliOnly::no;
    TextBound bound = TextBound::text;
};

// An HTTP route: method, path with {name} captures (a last "{name...}" takes
// the rest of the path, slashes included), status on success.
struct Route {
    std::string method;
    std::string path;
    int success_status = 200;
};

// One example call of an op, part of its contract (/openapi.json, tests):
// the arguments in their JSON form, as an HTTP client sends them, and the
// shape of the answer (values that vary, ids and times, are illustrative).
struct Example {
    std::string summary;
    nlohmann::json args = nlohmann::json::object();
    nlohmann::json result;
};

// Where an op is served. Most ops everywhere: pbctl (on the database and
// with --server), their HTTP route and a WebSocket message. A WebSocket op
// (a session's own: its credential, subscriptions and rooms) only as a
// message on pbd's /ws: no route, no pbctl command, not in /openapi.json.
// The table describes it; pbd binds its handler, which needs the session.
enum class ServedOn { everywhere, websocket };
// Whether a WebSocket message may call the op before its socket has a
// credential: only the ops that present one (authenticate, token_refresh).
enum class BeforeAuth { refused, allowed };

// A message pbd sends on a socket unasked once an op has set it up
// (subscribe: the events; join_room: the room's notices and messages).
// /asyncapi.json describes it; its example validates against its schema.
struct Push {
    std::string name;  // "event", "room.message"
    std::string summary;
    nlohmann::json schema;  // of the whole frame
    nlohmann::json example;
};

struct Context;
using Handler = std::function<nlohmann::json(Context&, const nlohmann::json& args)>;

// One operation: described once, served by the CLI, HTTP, WebSocket, help,
// completions and docs alike.
struct Op {
    std::string name;  // "<group>.<verb>", e.g. "keys.create"; the CLI splits it
    std::string summary;
    // What only pbctl's help says about this op: its own flags or output
    // (the summary and param help describe the call on every surface).
    std::string cli_note;
    std::vector<Param> params;
    std::string permission;  // empty: anyone may call it
    Mutates mutates = Mutates::no;
    Route route;
    Handler handler;
    // What -q prints: a field of the result (empty: nothing).
    std::string quiet_field;
    // A boolean result field that, when false, makes pbctl exit with
    // verdict_code's status (an outcome, not an error: HTTP still answers 200).
    std::string verdict_field;
    std::string verdict_reason_field;
    // The error code whose exit status pbctl uses for a false verdict.
    ErrorCode verdict_code = ErrorCode::unauthenticated;
    // An integer result field pbctl exits with when given --exit-status (the
    // flag exists only for ops that set this), e.g. an action's exit code.
    std::string exit_status_field;
    // Table columns when the result is a list (empty: every field).
    std::vector<std::string> columns;
    // The list field of a result that holds rows, e.g. "keys".
    std::string list_field;
    // Which argument names the object acted on, for the audit log.
    std::string audit_target;
    // A read that is audited (it hands out secrets): true for these args.
    // Its row is written after the read; audit.fail_closed makes the read fail
    // when the row cannot be written. Empty: only a mutating op is audited.
    std::function<bool(const nlohmann::json& args)> audit_read;
    // The CLI group when it is not the op's group (secrets.get is `pbctl vault get`).
    std::string cli_group;
    // Object fields whose values the CLI's table output hides unless the op's
    // boolean "show" arg is set (JSON and -q output are for scripts: shown).
    std::vector<std::string> masked_fields;
    // What pbctl does to its validated arguments before it dispatches them, on
    // the database and with --server alike, on the caller's machine: turns its
    // conveniences (CliOnly params: NAME=VALUE words, a FILE it reads) into the
    // JSON form of the op's contract, the only one pbd accepts. Throws
    // pb::Error. Empty: the op has no CliOnly params.
    std::function<nlohmann::json(const nlohmann::json& args)> from_cli;
    // The JSON Schema of a successful answer (ops/schema.hpp builds them).
    nlohmann::json response = nullptr;
    // The error codes this op answers besides those every op may answer
    // (invalid_argument, unavailable, internal; and for an op that needs a
    // permission unauthenticated, permission_denied; banned and rate_limited
    // from pbd's gate): e.g. not_found, conflict.
    std::vector<ErrorCode> errors;
    // At least one; the first is the one documentation shows first.
    std::vector<Example> examples;
    ServedOn served_on = ServedOn::everywhere;
    BeforeAuth before_auth = BeforeAuth::refused;  // WebSocket ops only
    std::vector<Push> pushes;                      // WebSocket ops only
    // A longer description for pbd(8) and /asyncapi.json (WebSocket ops).
    std::string description;

    bool websocket_only() const { return served_on == ServedOn::websocket; }

    std::string group() const { return name.substr(0, name.find('.')); }
    // The command's dotted path in pbctl: the name, with cli_group for group.
    std::string cli_path() const {
        return cli_group.empty() ? name : cli_group + name.substr(group().size());
    }
    std::string verb() const {
        const auto dot = name.find('.');
        return dot == std::string::npos ? std::string() : name.substr(dot + 1);
    }
    const Param* find_param(std::string_view n) const;
};

// Who is calling. Local pbctl calls as the machine's operator ("admin").
struct Caller {
    std::string actor;  // "key:<id>", "jwt:<sub>", "local:<user>", "anonymous"
    std::vector<std::string> permissions;
    std::string subject;         // the key's owner or the token's sub (for user bans and limits)
    std::string key_id;          // the API key presented, if any
    std::string key_rate_limit;  // that key's own rate limit, if it has one ("10/s")
};

// What a handler gets besides its arguments: the caller, and the services it
// asks for by type (ctx.service<keys::KeyService>()).
struct Context {
    ServiceRegistry& services;
    const Caller& caller;

    template <class T>
    T& service() const {
        return services.service<T>();
    }
    const Clock& clock() const { return services.clock(); }
};

// True when `granted` covers `needed`: exact match, "admin", "*", or a
// "<group>:*" wildcard. An empty `needed` is always covered.
bool has_permission(const std::vector<std::string>& granted, std::string_view needed);

}  // namespace pb::ops
