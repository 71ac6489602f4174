#include "common/core/json_parse.hpp"

#include <string>
#include <utility>
#include <vector>

#include "common/core/error.hpp"

namespace pb {
namespace {

using nlohmann::json;

// The library's text for a syntax error, without its "[json.exception…]" tag,
// its position (we give our own) and the "last read" piece of the input.
std::string syntax_reason(const std::string& library_text) {
    const auto dash = library_text.find(" - ");
    if (dash == std::string::npos) {
        return "syntax error";
    }
    std::string reason = library_text.substr(dash + 3);
    if (const auto read = reason.find("; last read"); read != std::string::npos) {
        reason.erase(read);
    }
    if (reason.find("; expected end of input") != std::string::npos) {
        return "unexpected bytes after the JSON value";
    }
    return reason;
}

// Builds the tree from sax_parse's events (an iterative parser) and stops at
// the first event that breaks a rule; `problem` then says which.
class StrictBuilder {
  public:
    explicit StrictBuilder(std::size_t max_depth) : m_max_depth(max_depth) {}

    json root;
    std::string problem;
    nlohmann::json problem_details = json::object();

    bool null() { return put(nullptr); }
    bool boolean(bool v) { return put(v); }
    bool number_integer(json::number_integer_t v) { return put(v); }
    bool number_unsigned(json::number_unsigned_t v) { return put(v); }
    bool number_float(json::number_float_t v, const std::string& text) {
        // The library reads an integer literal beyond uint64 as a double; that
        // would silently round it (18446744073709551616 → 1.8446744073709552e19).
        if (text.find_first_of(".eE") == std::string::npos) {
            return fail("number " + shown(text, 24) + " is out of range");
        }
        return put(v);
    }
    bool string(std::string& v) { return put(std::move(v)); }
    bool binary(json::binary_t&) { return fail("binary values are not JSON"); }

    bool start_object(std::size_t) {
        if (!deeper()) {
            return false;
        }
        json* at = place(json::object());
        m_stack.push_back(at);
        return true;
    }
    bool key(std::string& name) {
        auto& members = m_stack.back()->get_ref<json::object_t&>();
        auto [it, fresh] = members.try_emplace(name, nullptr);
        if (!fresh) {
            return fail("duplicate member " + shown(name, 40));
        }
        m_member = &it->second;
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t) {
        if (!deeper()) {
            return false;
        }
        json* at = place(json::array());
        m_stack.push_back(at);
        return true;
    }
    bool end_array() { return close(); }

    bool parse_error(std::size_t position, const std::string&,
                     const nlohmann::detail::exception& e) {
        if (e.id == 406) {  // out_of_range: 1e400, -1e400
            return fail("number out of range at byte " + std::to_string(position));
        }
        return fail("not valid JSON at byte " + std::to_string(position) + ": " +
                    syntax_reason(e.what()));
    }

  private:
    std::size_t m_max_depth;
    std::size_t m_depth = 0;
    std::vector<json*> m_stack;
    json* m_member = nullptr;  // the object member the next value fills

    static std::string shown(const std::string& s, std::size_t max) {
        const std::string cut = s.size() > max ? s.substr(0, max) + "…" : s;
        return json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
    }

    bool fail(std::string why) {
        problem = std::move(why);
        return false;
    }

    bool deeper() {
        if (++m_depth > m_max_depth) {
            problem_details = {{"max_depth", m_max_depth}};
            return fail("JSON nested deeper than " + std::to_string(m_max_depth) + " levels");
        }
        return true;
    }

    bool close() {
        m_stack.pop_back();
        --m_depth;
        return true;
    }

    // Where a new value goes. Pointers on the stack stay valid: a container
    // only grows while it is the innermost open one.
    json* place(json&& v) {
        if (m_stack.empty()) {
            root = std::move(v);
            return &root;
        }
        json& parent = *m_stack.back();
        if (parent.is_array()) {
            auto& items = parent.get_ref<json::array_t&>();
            items.push_back(std::move(v));
            return &items.back();
        }
        *m_member = std::move(v);
        return m_member;
    }

    template <class T>
    bool put(T&& v) {
        place(json(std::forward<T>(v)));
        return true;
    }
};

// Length of the well-formed UTF-8 sequence at s[i], or 0 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) {
        return 1;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) {
        return 0;
    }
    for (std::size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
            return 0;
        }
    }
    return n;
}

}  // namespace

json parse_json(std::string_view text, std::string_view what, JsonLimits limits) {
    if (text.starts_with("\xEF\xBB\xBF")) {
        throw Error(ErrorCode::invalid_argument,
                    std::string(what) + ": starts with a byte order mark (send UTF-8 without one)");
    }
    // The library's lexer takes a NUL for the end of the input ("{}\0garbage"
    // would pass). A raw NUL is valid nowhere in JSON, strings included.
    if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
        throw Error(ErrorCode::invalid_argument, std::string(what) + ": not valid JSON at byte " +
                                                     std::to_string(nul + 1) + ": a NUL byte");
    }
    StrictBuilder builder(limits.max_depth);
    if (!json::sax_parse(text.begin(), text.end(), &builder)) {
        throw Error(ErrorCode::invalid_argument, std::string(what) + ": " + builder.problem,
                    std::move(builder.problem_details));
    }
    return std::move(builder.root);
}

json parse_json_or_discarded(std::string_view text, JsonLimits limits) {
    StrictBuilder builder(limits.max_depth);
    if (text.starts_with("\xEF\xBB\xBF") || text.find('\0') != std::string_view::npos ||
        !json::sax_parse(text.begin(), text.end(), &builder)) {
        return json(json::value_t::discarded);
    }
    return std::move(builder.root);
}

bool is_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence(text, i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

bool is_utf8_tree(const json& j) {
    if (j.is_string()) {
        return is_utf8(j.get_ref<const std::string&>());
    }
    if (j.is_object()) {
        for (const auto& [name, value] : j.items()) {
            if (!is_utf8(name) || !is_utf8_tree(value)) {
                return false;
            }
        }
    } else if (j.is_array()) {
        for (const auto& item : j) {
            if (!is_utf8_tree(item)) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace pb
