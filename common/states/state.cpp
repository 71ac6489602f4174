#include "common/states/state.hpp"

#include <algorithm>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/schema.hpp"

namespace pb::states {
namespace {

using nlohmann::json;

template <class Enum, std::size_t N>
std::optional<Enum> from_string(std::string_view text, const std::array<Enum, N>& all) {
    for (const auto value : all) {
        if (to_string(value) == text) {
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace

std::string_view to_string(StateType t) {
    switch (t) {
        case StateType::system:
            return "system";
        case StateType::user:
            return "user";
        case StateType::session:
            return "session";
        case StateType::resource:
            return "resource";
        case StateType::feature:
            return "feature";
        case StateType::subscription:
            return "subscription";
    }
    return "system";
}

std::string_view to_string(Status s) {
    switch (s) {
        case Status::active:
            return "active";
        case Status::inactive:
            return "inactive";
        case Status::suspended:
            return "suspended";
        case Status::expired:
            return "expired";
    }
    return "active";
}

std::string_view to_string(Transition t) {
    switch (t) {
        case Transition::create:
            return "create";
        case Transition::update:
            return "update";
        case Transition::remove:
            return "delete";
        case Transition::activate:
            return "activate";
        case Transition::deactivate:
            return "deactivate";
        case Transition::suspend:
            return "suspend";
        case Transition::resume:
            return "resume";
        case Transition::expire:
            return "expire";
        case Transition::renew:
            return "renew";
    }
    return "update";
}

std::optional<StateType> type_from_string(std::string_view text) {
    return from_string(text, k_all_types);
}

std::optional<Status> status_from_string(std::string_view text) {
    return from_string(text, k_all_statuses);
}

std::optional<Transition> transition_from_string(std::string_view text) {
    return from_string(text, k_all_transitions);
}

std::string event_type(Transition t) {
    switch (t) {
        case Transition::create:
            return "state.created";
        case Transition::update:
            return "state.updated";
        case Transition::remove:
            return "state.deleted";
        case Transition::activate:
            return "state.activated";
        case Transition::deactivate:
            return "state.deactivated";
        case Transition::suspend:
            return "state.suspended";
        case Transition::resume:
            return "state.resumed";
        case Transition::expire:
            return "state.expired";
        case Transition::renew:
            return "state.renewed";
    }
    return "state.updated";
}

bool legal_from(Transition t, Status from) {
    switch (t) {
        case Transition::create:
            return false;  // only a state that does not exist can be created
        case Transition::update:
            // An expired state's data is frozen until it is renewed.
            return from != Status::expired;
        case Transition::remove:
            return true;
        case Transition::activate:
            return from == Status::inactive;
        case Transition::deactivate:
        case Transition::suspend:
            return from == Status::active;
        case Transition::resume:
            return from == Status::suspended;
        case Transition::expire:
            return from != Status::expired;
        case Transition::renew:
            // From active it extends the time to live.
            return from == Status::expired || from == Status::active;
    }
    return false;
}

Status status_after(Transition t, Status from) {
    switch (t) {
        case Transition::create:
        case Transition::activate:
        case Transition::resume:
        case Transition::renew:
            return Status::active;
        case Transition::deactivate:
            return Status::inactive;
        case Transition::suspend:
            return Status::suspended;
        case Transition::expire:
            return Status::expired;
        case Transition::update:
        case Transition::remove:
            return from;
    }
    return from;
}

void check_id(std::string_view id) {
    const bool ok =
        !id.empty() && id.size() <= 200 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == ':' || c == '@';
        });
    if (!ok) {
        throw Error(ErrorCode::invalid_argument,
                    "id: expected 1 to 200 letters, digits or . _ - : @", {{"param", "id"}});
    }
}

bool State::permits(Transition t) const {
    return !allowed || std::find(allowed->begin(), allowed->end(), t) != allowed->end();
}

json State::to_json() const {
    json allowed_json = nullptr;
    if (allowed) {
        allowed_json = json::array();
        for (const auto t : *allowed) {
            allowed_json.push_back(to_string(t));
        }
    }
    return {{"id", id},
            {"type", to_string(type)},
            {"status", to_string(status)},
            {"version", version},
            {"data", data},
            {"allowed_transitions", allowed_json},
            {"created_at", format_rfc3339(created_at)},
            {"created_by", created_by},
            {"updated_at", format_rfc3339(updated_at)},
            {"updated_by", updated_by},
            {"expires_at", time_or_null(expires_at)},
            {"ttl_ms", ttl_ms ? json(*ttl_ms) : json(nullptr)}};
}

namespace {

std::vector<std::string> names_of(auto values) {
    std::vector<std::string> out;
    for (const auto v : values) {
        out.emplace_back(to_string(v));
    }
    return out;
}

}  // namespace

json State::schema() {
    using namespace ops::schema;
    return named("State",
                 object({{"id", string()},
                         {"type", choice(names_of(k_all_types))},
                         {"status", choice(names_of(k_all_statuses))},
                         {"version", integer()},
                         {"data", free_object()},
                         {"allowed_transitions",
                          nullable(array(string(), "null: every transition the table allows"))},
                         {"created_at", time()},
                         {"created_by", string()},
                         {"updated_at", time()},
                         {"updated_by", string()},
                         {"expires_at", nullable(time())},
                         {"ttl_ms", nullable(integer("The time to live in milliseconds"))}}));
}

json HistoryEntry::schema() {
    using namespace ops::schema;
    return named("StateHistoryEntry", object({{"version", integer()},
                                              {"transition", choice(names_of(k_all_transitions))},
                                              {"status", choice(names_of(k_all_statuses))},
                                              {"data", free_object()},
                                              {"actor", string()},
                                              {"at", time()}}));
}

json HistoryEntry::to_json() const {
    return {{"version", version},
            {"transition", to_string(transition)},
            {"status", to_string(status)},
            {"data", data},
            {"actor", actor},
            {"at", format_rfc3339(at)}};
}

}  // namespace pb::states
