// Ban import files (limits/ban_io), as `pbctl bans import` and the import op
// read them: the text as the format detection sees it, then the same text
// forced to CSV. Every row returned must have been validated.
#include "common/core/error.hpp"
#include "common/limits/ban_io.hpp"
#include "fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = pb::fuzz::as_text(data, size);
    for (const auto format :
         {pb::limits::BanFileFormat::automatic, pb::limits::BanFileFormat::csv}) {
        try {
            const auto rows = pb::limits::parse_ban_rows(text, format, pb::fuzz::k_now_ms);
            if (rows.size() > pb::limits::k_max_import_rows) {
                __builtin_trap();
            }
        } catch (const pb::Error&) {
        }
    }
    return 0;
}
