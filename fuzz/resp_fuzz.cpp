// The Redis reply reader (redis/resp) over bytes from a socket, fed in two
// pieces as a socket may deliver them; every buffered reply is taken out.
#include "common/core/error.hpp"
#include "common/redis/resp.hpp"
#include "fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = pb::fuzz::as_text(data, size);
    const auto cut = size == 0 ? 0 : static_cast<std::size_t>(data[0]) % (size + 1);
    pb::redis::ReplyReader reader;
    try {
        for (const auto piece : {text.substr(0, cut), text.substr(cut)}) {
            reader.feed(piece.data(), piece.size());
            pb::redis::Reply reply;
            while (reader.next(reply)) {
                (void)reply.error_kind();
            }
        }
    } catch (const pb::Error&) {
    }
    return 0;
}
