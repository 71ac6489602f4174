#include "common/core/base64.hpp"

#include <array>

namespace pb {
namespace {

constexpr std::string_view k_url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view k_std =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> make_table(std::string_view alphabet) {
    std::array<signed char, 256> t{};
    for (auto& v : t) {
        v = -1;
    }
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    }
    return t;
}

constexpr auto k_url_table = make_table(k_url);
constexpr auto k_std_table = make_table(k_std);

std::string encode(std::string_view in, std::string_view alphabet, bool pad) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                           static_cast<unsigned char>(in[i + 1]) << 8 |
                           static_cast<unsigned char>(in[i + 2]);
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += alphabet[v & 63];
    }
    const auto rest = in.size() - i;
    if (rest == 1) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        if (pad)
            out += "==";
    } else if (rest == 2) {
        const unsigned v =
            static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        if (pad)
            out += '=';
    }
    return out;
}

std::optional<std::string> decode(std::string_view in, const std::array<signed char, 256>& table) {
    const std::size_t rest = in.size() % 4;
    if (rest == 1) {
        return std::nullopt;
    }
    std::string out(in.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1), '\0');
    const auto sextet = [&](std::size_t i) {
        return static_cast<int>(table[static_cast<unsigned char>(in[i])]);
    };
    char* w = out.data();
    std::size_t i = 0;
    // Four characters make three bytes: one table lookup each, one test for all.
    for (; i + 4 <= in.size(); i += 4) {
        const int a = sextet(i), b = sextet(i + 1), c = sextet(i + 2), d = sextet(i + 3);
        if ((a | b | c | d) < 0) {
            return std::nullopt;
        }
        const auto v = static_cast<unsigned>(a << 18 | b << 12 | c << 6 | d);
        w[0] = static_cast<char>(v >> 16);
        w[1] = static_cast<char>(v >> 8 & 0xFF);
        w[2] = static_cast<char>(v & 0xFF);
        w += 3;
    }
    if (rest != 0) {
        const int a = sextet(i), b = sextet(i + 1), c = rest == 3 ? sextet(i + 2) : 0;
        if ((a | b | c) < 0) {
            return std::nullopt;
        }
        // Leftover bits must be zero, or two texts would decode to the same bytes.
        if ((rest == 2 && (b & 0x0F) != 0) || (rest == 3 && (c & 0x03) != 0)) {
            return std::nullopt;
        }
        const auto v = static_cast<unsigned>(a << 18 | b << 12 | c << 6);
        w[0] = static_cast<char>(v >> 16);
        if (rest == 3) {
            w[1] = static_cast<char>(v >> 8 & 0xFF);
        }
    }
    return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
    return encode(bytes, k_url, false);
}
std::optional<std::string> base64url_decode(std::string_view text) {
    return decode(text, k_url_table);
}

std::string base64_encode(std::string_view bytes) {
    return encode(bytes, k_std, true);
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t pad = 0;
    while (pad < 2 && !text.empty() && text.back() == '=') {
        text.remove_suffix(1);
        ++pad;
    }
    return decode(text, k_std_table);
}

}  // namespace pb
