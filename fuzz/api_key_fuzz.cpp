// API-key parsing as every key-authenticated request meets it: format and
// checksum (keys/format), then the hash of what parsed.
#include "common/keys/format.hpp"
#include "fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = pb::fuzz::as_text(data, size);
    if (const auto parsed = pb::keys::parse_key(text)) {
        // The id is a view into the key: it must lie inside it.
        if (parsed->id.size() != pb::keys::k_id_length || parsed->id.data() < text.data() ||
            parsed->id.data() + parsed->id.size() > text.data() + text.size()) {
            __builtin_trap();
        }
        (void)pb::keys::hash_key(text);
    }
    return 0;
}
