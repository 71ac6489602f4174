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
    if (in.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out(in.size() * 3 / 4, '\0');
    char* w = out.data();
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        const int v = table[static_cast<unsigned char>(c)];
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *w++ = static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    // Leftover bits must be zero, or two texts would decode to the same bytes.
    if ((acc & ((1U << bits) - 1)) != 0) {
        return std::nullopt;
    }
    out.resize(static_cast<std::size_t>(w - out.data()));
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
