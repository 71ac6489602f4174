#include "common/core/argv_scrub.hpp"

#include <cstring>

namespace pb {
namespace {

void mask(char* from, char* to) {
    for (char* p = from; p < to; ++p) {
        *p = 'x';
    }
}

// "scheme://user:password@host": masks the password, if there is one.
void mask_url_password(char* arg) {
    const std::string_view text(arg);
    const auto scheme = text.find("://");
    if (scheme == std::string_view::npos) {
        return;
    }
    const auto at = text.find('@', scheme + 3);
    const auto colon = text.find(':', scheme + 3);
    if (at == std::string_view::npos || colon == std::string_view::npos || colon > at) {
        return;
    }
    mask(arg + colon + 1, arg + at);
}

}  // namespace

void hide_secret_arguments(int argc, char** argv,
                           std::initializer_list<std::string_view> secret_options) {
    for (int i = 1; i < argc; ++i) {
        char* arg = argv[i];
        mask_url_password(arg);
        const std::string_view text(arg);
        for (const auto option : secret_options) {
            if (text == option && i + 1 < argc) {
                mask(argv[i + 1], argv[i + 1] + std::strlen(argv[i + 1]));
            } else if (text.size() > option.size() && text.starts_with(option) &&
                       text[option.size()] == '=') {
                mask(arg + option.size() + 1, arg + text.size());
            }
        }
    }
}

}  // namespace pb
