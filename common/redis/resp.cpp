#include "common/redis/resp.hpp"

#include <hiredis/hiredis.h>

#include "common/core/error.hpp"

namespace pb::redis {
namespace {

Reply copy_reply(const redisReply* r) {
    Reply out;
    switch (r->type) {
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::integer;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_ERROR:
            out.type = r->type == REDIS_REPLY_STRING   ? Reply::Type::string
                       : r->type == REDIS_REPLY_STATUS ? Reply::Type::status
                                                       : Reply::Type::error;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::array;
            out.elements.reserve(r->elements);
            for (std::size_t i = 0; i < r->elements; ++i) {
                out.elements.push_back(copy_reply(r->element[i]));
            }
            break;
        default:
            out.type = Reply::Type::nil;
    }
    return out;
}

redisReader* reader(void* p) {
    return static_cast<redisReader*>(p);
}

}  // namespace

Reply adopt_reply(void* raw) {
    auto* r = static_cast<redisReply*>(raw);
    Reply out = copy_reply(r);
    freeReplyObject(r);
    return out;
}

void encode_command(std::span<const std::string_view> args, std::string& out) {
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (const auto a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out += a;
        out += "\r\n";
    }
}

ReplyReader::ReplyReader() : m_reader(redisReaderCreate()) {
    if (m_reader == nullptr) {
        throw Error(ErrorCode::internal, "cannot create a Redis reply reader");
    }
}

ReplyReader::~ReplyReader() {
    redisReaderFree(reader(m_reader));
}

void ReplyReader::feed(const char* data, std::size_t size) {
    if (redisReaderFeed(reader(m_reader), data, size) != REDIS_OK) {
        throw Error(ErrorCode::unavailable, "redis: unreadable reply");
    }
}

bool ReplyReader::next(Reply& out) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader(m_reader), &raw) != REDIS_OK) {
        throw Error(ErrorCode::unavailable,
                    std::string("redis: unreadable reply: ") + reader(m_reader)->errstr);
    }
    if (raw == nullptr) {
        return false;
    }
    out = adopt_reply(raw);
    return true;
}

}  // namespace pb::redis
