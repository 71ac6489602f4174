#pragma once
// Private to the HTTP connection (Boost.Beast).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/basic_parser.hpp>

namespace pb::daemon::http_detail {

// One request's parts, kept across the requests of a connection so their
// buffers are reused instead of allocated anew.
struct RequestData {
    std::string method;
    std::string target;
    int version = 11;
    std::vector<std::pair<std::string, std::string>> fields;
    std::size_t field_count = 0;
    std::string body;
    bool expect_continue = false;

    void clear();
};

// A Beast parser that fills a RequestData in place (Beast's own message type
// allocates every field of every request). The header and body limits are
// the caller's to set, as on any Beast parser.
class RequestParser final : public boost::beast::http::basic_parser<true> {
  public:
    // Clears `data`, which must outlive the parser.
    explicit RequestParser(RequestData& data);

  private:
    using error_code = boost::system::error_code;
    using verb = boost::beast::http::verb;
    using field = boost::beast::http::field;

    void on_request_impl(verb, std::string_view method, std::string_view target, int version,
                         error_code&) override;
    void on_response_impl(int, std::string_view, int, error_code&) override {}
    void on_field_impl(field name, std::string_view name_text, std::string_view value,
                       error_code&) override;
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override;
    std::size_t on_body_impl(std::string_view part, error_code&) override;
    void on_chunk_header_impl(std::uint64_t, std::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, std::string_view part, error_code&) override;
    void on_finish_impl(error_code&) override {}

    RequestData& m_data;
};

}  // namespace pb::daemon::http_detail
