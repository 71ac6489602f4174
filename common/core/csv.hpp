#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pb {

// One CSV record and the line it starts on (1 = the first line).
struct CsvRecord {
    std::size_t line = 0;
    std::vector<std::string> cells;
};

// The records of an RFC 4180 text: quoted cells may hold commas, quotes ("")
// and line breaks; unquoted cells are trimmed; CRLF line ends are taken; blank
// lines and lines starting with # are skipped. Throws Error(invalid_argument,
// "a quoted cell is not closed", {"record": N, "line": L}) for a quote left
// open (N: the record it is in, 1 = the first). Bans and keys import with it.
std::vector<CsvRecord> csv_records(std::string_view text);

}  // namespace pb
