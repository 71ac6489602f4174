#pragma once
// A file pbctl reads whole and sends as an op's document (bans import, keys
// import): bounded before it is read.

#include <cstdint>
#include <string>

namespace pb {

// The most an import file may hold.
inline constexpr std::uintmax_t k_max_import_bytes = 64ULL << 20;

// The text of `path`. Error(invalid_argument, {"param":"file"}) when it cannot
// be read or is larger than k_max_import_bytes (64 MiB).
std::string read_import_file(const std::string& path);

}  // namespace pb
