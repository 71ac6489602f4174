#include "common/tokens/json_scan.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/core/percent.hpp"

namespace pb::tokens {
namespace {

constexpr int k_max_depth = 64;
// Up to this many members an object's names are compared pairwise as they
// come; a larger object is checked once, sorted, at its end.
constexpr std::size_t k_pairwise_members = 32;

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Bytes that stand for themselves inside a string: printable ASCII but the
// quote and the backslash.
constexpr auto k_plain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) {
        t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    }
    return t;
}();

JsonKind kind_of(char first) {
    switch (first) {
        case '{':
            return JsonKind::object;
        case '[':
            return JsonKind::array;
        case '"':
            return JsonKind::string;
        case 't':
        case 'f':
            return JsonKind::boolean;
        case 'n':
            return JsonKind::null;
        default:
            return JsonKind::number;
    }
}

bool is_number_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// Reads the four hex digits after "\u" at raw[pos]; -1 when they are not.
int read_hex4(std::string_view raw, std::size_t pos) {
    if (pos + 4 > raw.size()) {
        return -1;
    }
    int v = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const int d = hex_digit(raw[pos + i]);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

std::size_t put_utf8(std::uint32_t cp, char* out) {
    if (cp < 0x80) {
        out[0] = static_cast<char>(cp);
        return 1;
    }
    if (cp < 0x800) {
        out[0] = static_cast<char>(0xC0 | (cp >> 6));
        out[1] = static_cast<char>(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = static_cast<char>(0xE0 | (cp >> 12));
        out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out[2] = static_cast<char>(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = static_cast<char>(0xF0 | (cp >> 18));
    out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
}

// Decodes the escape at raw[pos] (a backslash) of a validated string into
// `out`; returns the bytes written and advances pos past the escape.
std::size_t decode_escape(std::string_view raw, std::size_t& pos, char* out) {
    const char e = raw[pos + 1];
    pos += 2;
    switch (e) {
        case 'b':
            out[0] = '\b';
            return 1;
        case 'f':
            out[0] = '\f';
            return 1;
        case 'n':
            out[0] = '\n';
            return 1;
        case 'r':
            out[0] = '\r';
            return 1;
        case 't':
            out[0] = '\t';
            return 1;
        case 'u': {
            auto cp = static_cast<std::uint32_t>(read_hex4(raw, pos));
            pos += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {  // validated: a low surrogate follows
                const auto low = static_cast<std::uint32_t>(read_hex4(raw, pos + 2));
                pos += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            return put_utf8(cp, out);
        }
        default:
            out[0] = e;
            return 1;  // " \ /
    }
}

// Length of a valid UTF-8 sequence starting at s[pos] (lead byte >= 0x80), or
// 0 when it is not one (overlong forms, surrogates and values past U+10FFFF
// are refused, RFC 3629).
std::size_t utf8_sequence(std::string_view s, std::size_t pos) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[pos + i]); };
    const auto cont = [&](std::size_t i) { return pos + i < s.size() && (b(i) & 0xC0) == 0x80; };
    const unsigned char c = b(0);
    if (c >= 0xC2 && c <= 0xDF) {
        return cont(1) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) {
            return 0;
        }
        if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) {
            return 0;
        }
        if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

// A member name as written (no quotes), and whether it has escapes.
struct Name {
    std::string_view raw;
    bool escaped = false;
};

class Validator {
  public:
    Validator(std::string_view text, std::vector<Name>& names, MemberSink* sink)
        : m_text(text), m_names(names), m_sink(sink) {}

    bool object_document() {
        m_pos = detail::skip_ws(m_text, 0);
        if (m_pos >= m_text.size() || m_text[m_pos] != '{' || !value(0)) {
            return false;
        }
        return detail::skip_ws(m_text, m_pos) == m_text.size();
    }

  private:
    bool value(int depth) {
        if (m_pos >= m_text.size()) {
            return false;
        }
        switch (m_text[m_pos]) {
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case '"':
                return string();
            case 't':
                return literal("true");
            case 'f':
                return literal("false");
            case 'n':
                return literal("null");
            default:
                return number();
        }
    }

    bool object(int depth) {
        if (depth > k_max_depth) {
            return false;
        }
        const std::size_t first_name = m_names.size();
        ++m_pos;
        skip();
        if (peek() == '}') {
            ++m_pos;
            return true;
        }
        for (;;) {
            skip();
            const std::size_t name_start = m_pos;
            if (peek() != '"' || !string()) {
                return false;
            }
            const Name name{m_text.substr(name_start + 1, m_pos - name_start - 2), m_escaped};
            const std::size_t members = m_names.size() - first_name;
            if (members < k_pairwise_members) {
                for (std::size_t i = first_name; i < m_names.size(); ++i) {
                    if (same_name(m_names[i], name)) {
                        return false;
                    }
                }
            }
            m_names.push_back(name);
            skip();
            if (peek() != ':') {
                return false;
            }
            ++m_pos;
            skip();
            const std::size_t value_start = m_pos;
            if (!value(depth)) {
                return false;
            }
            if (depth == 1 && m_sink != nullptr) {
                m_sink->member(name.raw, name.escaped,
                               {kind_of(m_text[value_start]),
                                m_text.substr(value_start, m_pos - value_start)});
            }
            skip();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() != '}') {
                return false;
            }
            ++m_pos;
            break;
        }
        const bool unique =
            m_names.size() - first_name <= k_pairwise_members || all_unique(first_name);
        m_names.resize(first_name);
        return unique;
    }

    bool array(int depth) {
        if (depth > k_max_depth) {
            return false;
        }
        ++m_pos;
        skip();
        if (peek() == ']') {
            ++m_pos;
            return true;
        }
        for (;;) {
            skip();
            if (!value(depth)) {
                return false;
            }
            skip();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() != ']') {
                return false;
            }
            ++m_pos;
            return true;
        }
    }

    bool string() {
        ++m_pos;  // the opening quote
        m_escaped = false;
        while (m_pos < m_text.size()) {
            // Most bytes are plain ASCII: skip them in a tight loop.
            while (m_pos < m_text.size() && k_plain[static_cast<unsigned char>(m_text[m_pos])]) {
                ++m_pos;
            }
            if (m_pos >= m_text.size()) {
                break;
            }
            const auto c = static_cast<unsigned char>(m_text[m_pos]);
            if (c == '"') {
                ++m_pos;
                return true;
            }
            if (c < 0x20) {
                return false;
            }
            if (c == '\\') {
                m_escaped = true;
                if (!escape()) {
                    return false;
                }
            } else if (c >= 0x80) {
                const std::size_t n = utf8_sequence(m_text, m_pos);
                if (n == 0) {
                    return false;
                }
                m_pos += n;
            } else {
                ++m_pos;
            }
        }
        return false;
    }

    bool escape() {
        if (m_pos + 1 >= m_text.size()) {
            return false;
        }
        const char e = m_text[m_pos + 1];
        if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
            e == 't') {
            m_pos += 2;
            return true;
        }
        if (e != 'u') {
            return false;
        }
        const int cp = read_hex4(m_text, m_pos + 2);
        if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
            return false;  // not hex, or a low surrogate alone
        }
        m_pos += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (m_pos + 1 >= m_text.size() || m_text[m_pos] != '\\' || m_text[m_pos + 1] != 'u') {
                return false;
            }
            const int low = read_hex4(m_text, m_pos + 2);
            if (low < 0xDC00 || low > 0xDFFF) {
                return false;
            }
            m_pos += 6;
        }
        return true;
    }

    bool number() {
        const std::size_t start = m_pos;
        if (peek() == '-') {
            ++m_pos;
        }
        if (peek() == '0') {
            ++m_pos;
        } else if (!digits()) {
            return false;
        }
        if (peek() == '.') {
            ++m_pos;
            if (!digits()) {
                return false;
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            ++m_pos;
            if (peek() == '+' || peek() == '-') {
                ++m_pos;
            }
            if (!digits()) {
                return false;
            }
        }
        return m_pos > start && in_range(m_text.substr(start, m_pos - start));
    }

    // The grammar of every JSON door (common/core/json_parse): an integer
    // literal fits int64 or uint64, any other number is a finite double.
    static bool in_range(std::string_view n) {
        if (n.find_first_of(".eE") == std::string_view::npos) {
            std::int64_t i = 0;
            std::uint64_t u = 0;
            const char* end = n.data() + n.size();
            return std::from_chars(n.data(), end, i).ec == std::errc() ||
                   std::from_chars(n.data(), end, u).ec == std::errc();
        }
        const std::string copy(n);
        return std::isfinite(std::strtod(copy.c_str(), nullptr));
    }

    bool digits() {
        const std::size_t start = m_pos;
        while (peek() >= '0' && peek() <= '9') {
            ++m_pos;
        }
        return m_pos > start;
    }

    bool literal(std::string_view word) {
        if (m_text.substr(m_pos, word.size()) != word) {
            return false;
        }
        m_pos += word.size();
        return true;
    }

    bool all_unique(std::size_t first_name) const {
        std::vector<std::string> names;
        names.reserve(m_names.size() - first_name);
        for (std::size_t i = first_name; i < m_names.size(); ++i) {
            names.push_back(json_string_value({JsonKind::string, quoted(m_names[i].raw)}));
        }
        std::sort(names.begin(), names.end());
        return std::adjacent_find(names.begin(), names.end()) == names.end();
    }

    // The slice of a name with its quotes, which lie just around it in m_text.
    static std::string_view quoted(std::string_view name) {
        return {name.data() - 1, name.size() + 2};
    }

    static bool same_name(const Name& a, const Name& b) {
        if (!a.escaped && !b.escaped) {
            return a.raw == b.raw;
        }
        if (!a.escaped) {
            return json_string_equals(b.raw, a.raw);
        }
        if (!b.escaped) {
            return json_string_equals(a.raw, b.raw);
        }
        return json_string_value({JsonKind::string, quoted(a.raw)}) ==
               json_string_value({JsonKind::string, quoted(b.raw)});
    }

    char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
    void skip() { m_pos = detail::skip_ws(m_text, m_pos); }

    std::string_view m_text;
    std::vector<Name>& m_names;  // names of the objects being read, innermost last
    MemberSink* m_sink;          // told of top-level members
    bool m_escaped = false;      // whether the last string read had an escape
    std::size_t m_pos = 0;
};

}  // namespace

bool is_strict_object(std::string_view text, MemberSink* sink) {
    // One buffer per thread: checking a token allocates nothing once warm.
    thread_local std::vector<Name> names;
    names.clear();
    return Validator(text, names, sink).object_document();
}

bool json_string_equals(std::string_view raw, std::string_view plain) {
    std::size_t i = 0;
    std::size_t j = 0;
    char buf[4];
    while (i < raw.size()) {
        if (raw[i] != '\\') {
            if (j >= plain.size() || raw[i] != plain[j]) {
                return false;
            }
            ++i;
            ++j;
            continue;
        }
        const std::size_t n = decode_escape(raw, i, buf);
        if (plain.substr(j, n) != std::string_view(buf, n)) {
            return false;
        }
        j += n;
    }
    return j == plain.size();
}

bool json_string_is(JsonSlice s, std::string_view plain) {
    return s.kind == JsonKind::string &&
           json_string_equals(s.text.substr(1, s.text.size() - 2), plain);
}

std::string json_string_value(JsonSlice s) {
    const std::string_view raw = s.text.substr(1, s.text.size() - 2);
    std::string out;
    out.reserve(raw.size());
    char buf[4];
    for (std::size_t i = 0; i < raw.size();) {
        if (raw[i] != '\\') {
            out.push_back(raw[i++]);
        } else {
            out.append(buf, decode_escape(raw, i, buf));
        }
    }
    return out;
}

std::optional<double> json_number_value(JsonSlice s) {
    if (s.kind != JsonKind::number) {
        return std::nullopt;
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(s.text.data(), s.text.data() + s.text.size(), v);
    if (ec != std::errc() || end != s.text.data() + s.text.size() || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

namespace detail {

std::size_t skip_ws(std::string_view text, std::size_t pos) {
    while (pos < text.size() && is_ws(text[pos])) {
        ++pos;
    }
    return pos;
}

std::size_t string_end(std::string_view text, std::size_t pos) {
    ++pos;
    while (text[pos] != '"') {
        pos += text[pos] == '\\' ? 2 : 1;
    }
    return pos + 1;
}

JsonSlice value_at(std::string_view text, std::size_t pos) {
    const char c = text[pos];
    if (c == '"') {
        return {JsonKind::string, text.substr(pos, string_end(text, pos) - pos)};
    }
    if (c == '{' || c == '[') {
        int depth = 0;
        std::size_t i = pos;
        do {
            if (text[i] == '"') {
                i = string_end(text, i);
                continue;
            }
            if (text[i] == '{' || text[i] == '[') {
                ++depth;
            } else if (text[i] == '}' || text[i] == ']') {
                --depth;
            }
            ++i;
        } while (depth > 0);
        return {c == '{' ? JsonKind::object : JsonKind::array, text.substr(pos, i - pos)};
    }
    if (c == 't') {
        return {JsonKind::boolean, text.substr(pos, 4)};
    }
    if (c == 'f') {
        return {JsonKind::boolean, text.substr(pos, 5)};
    }
    if (c == 'n') {
        return {JsonKind::null, text.substr(pos, 4)};
    }
    std::size_t i = pos;
    while (i < text.size() && is_number_char(text[i])) {
        ++i;
    }
    return {JsonKind::number, text.substr(pos, i - pos)};
}

}  // namespace detail
}  // namespace pb::tokens
