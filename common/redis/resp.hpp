#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/redis/reply.hpp"

namespace pb::redis {

// Appends one command in RESP (an array of bulk strings) to `out`: for
// callers that drive their own socket (pbd's non-blocking Redis pipe).
void encode_command(std::span<const std::string_view> args, std::string& out);

// Parses replies out of bytes read from a Redis socket, in order (hiredis's
// reader, kept out of this header). Not thread-safe.
class ReplyReader {
  public:
    ReplyReader();
    ~ReplyReader();
    ReplyReader(const ReplyReader&) = delete;
    ReplyReader& operator=(const ReplyReader&) = delete;

    // Error(unavailable) when the bytes are not RESP.
    void feed(const char* data, std::size_t size);
    // The next complete reply, if one is buffered.
    bool next(Reply& out);

  private:
    void* m_reader;  // redisReader*
};

// Copies a hiredis reply (a redisReply*) into a Reply and frees it.
Reply adopt_reply(void* raw);

}  // namespace pb::redis
