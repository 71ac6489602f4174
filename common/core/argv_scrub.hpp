#pragma once

#include <initializer_list>
#include <string_view>

namespace pb {

// Overwrites with 'x', in the process's own argv (what ps and
// /proc/<pid>/cmdline show), the password of every URL argument
// ("scheme://user:password@host…") and the value of each option named in
// `secret_options` ("--api-key KEY" or "--api-key=KEY"). Call once the
// arguments are parsed: the parser keeps copies.
void hide_secret_arguments(int argc, char** argv,
                           std::initializer_list<std::string_view> secret_options);

}  // namespace pb
