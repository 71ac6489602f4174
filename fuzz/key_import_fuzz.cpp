// keys import files (keys/import), as `pbctl keys import FILE` reads them:
// the text as the format detection sees it, then forced to CSV and to JSON.
// A document made from a file must be one the op accepts as it is (the file
// reader checks every row as the op does), and never larger than its bound.
#include "common/core/error.hpp"
#include "common/keys/import.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = pb::fuzz::as_text(data, size);
    using pb::keys::ImportFileFormat;
    for (const auto format :
         {ImportFileFormat::automatic, ImportFileFormat::csv, ImportFileFormat::json}) {
        try {
            const auto document =
                pb::keys::import_document_from_text(text, format, pb::fuzz::k_now_ms);
            const auto keys = pb::keys::parse_import_document(document, pb::fuzz::k_now_ms);
            check(keys.size() <= pb::keys::k_max_import_keys);
            check(keys.size() == document["keys"].size());
        } catch (const pb::Error& e) {
            check(e.code() == pb::ErrorCode::invalid_argument);
        }
    }
    try {
        const auto hex = pb::keys::parse_key_hash(text);
        check(hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    } catch (const pb::Error& e) {
        check(e.code() == pb::ErrorCode::invalid_argument);
    }
    return 0;
}
