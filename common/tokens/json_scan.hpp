#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pb::tokens {

// The verify hot path reads a handful of claims. Parsing the whole payload into
// a JSON tree costs more than the HMAC itself (a map node and a string per
// member), so tokens are checked with this validating scanner instead, and the
// tree is built only when a caller asks for it.

enum class JsonKind { object, array, string, number, boolean, null };

// One value inside a validated document: its kind and its exact text (a
// string's text keeps its quotes and escapes).
struct JsonSlice {
    JsonKind kind = JsonKind::null;
    std::string_view text;
};

// Receives the top-level members of an object as the check reads them.
class MemberSink {
  public:
    // `raw_name` is the name between its quotes, still escaped when `escaped`
    // (compare it with json_string_equals then).
    virtual void member(std::string_view raw_name, bool escaped, JsonSlice value) = 0;

  protected:
    ~MemberSink() = default;
};

// True when `text` is exactly one JSON object (RFC 8259: grammar, UTF-8,
// surrogate pairs in \u escapes) whose objects, at every depth, have no
// duplicate member names (compared after unescaping). Nesting deeper than 64
// levels is refused. Each top-level member goes to `sink` as it is read (the
// members seen before a refusal included): one pass both checks and reads.
bool is_strict_object(std::string_view text, MemberSink* sink = nullptr);

// Calls fn(value) for each element of an array slice from a validated document.
template <class Fn>
void for_each_element(JsonSlice array, Fn&& fn);

// True when the escaped string body `raw` (no quotes) spells `plain`.
bool json_string_equals(std::string_view raw, std::string_view plain);

// True when the slice is a string whose value is `plain`.
bool json_string_is(JsonSlice s, std::string_view plain);

// A string slice's value with escapes resolved.
std::string json_string_value(JsonSlice s);

// A number slice's value (JSON numbers as doubles, as JavaScript reads them);
// nullopt when the slice is not a number or its value is not finite.
std::optional<double> json_number_value(JsonSlice s);

namespace detail {
// The value starting at text[pos] (which must be valid JSON) and its kind.
JsonSlice value_at(std::string_view text, std::size_t pos);
// Index of the first byte at or after pos that is not JSON whitespace.
std::size_t skip_ws(std::string_view text, std::size_t pos);
// Index just after the closing quote of the string whose opening quote is at pos.
std::size_t string_end(std::string_view text, std::size_t pos);
}  // namespace detail

template <class Fn>
void for_each_element(JsonSlice array, Fn&& fn) {
    const std::string_view text = array.text;
    std::size_t pos = 1;  // past '['
    for (;;) {
        pos = detail::skip_ws(text, pos);
        if (pos >= text.size() || text[pos] == ']') {
            return;
        }
        if (text[pos] == ',') {
            pos = detail::skip_ws(text, pos + 1);
        }
        const JsonSlice value = detail::value_at(text, pos);
        fn(value);
        pos += value.text.size();
    }
}

}  // namespace pb::tokens
