#include "daemon/http/request_parser.hpp"

#include "daemon/http/request.hpp"

namespace pb::daemon::http_detail {

void RequestData::clear() {
    method.clear();
    target.clear();
    version = 11;
    field_count = 0;
    body.clear();
    expect_continue = false;
}

RequestParser::RequestParser(RequestData& data) : m_data(data) {
    m_data.clear();
}

void RequestParser::on_request_impl(verb, std::string_view method, std::string_view target,
                                    int version, error_code&) {
    m_data.method.assign(method);
    m_data.target.assign(target);
    m_data.version = version;
}

void RequestParser::on_field_impl(field name, std::string_view name_text, std::string_view value,
                                  error_code&) {
    if (m_data.field_count == m_data.fields.size()) {
        m_data.fields.emplace_back();
    }
    auto& f = m_data.fields[m_data.field_count++];
    f.first.assign(name_text);
    f.second.assign(value);
    if (name == field::expect && iequals(value, "100-continue")) {
        m_data.expect_continue = true;
    }
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) {
    if (length) {
        m_data.body.reserve(*length);  // already checked against body_limit
    }
}

std::size_t RequestParser::on_body_impl(std::string_view part, error_code&) {
    m_data.body.append(part);
    return part.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, std::string_view part, error_code&) {
    m_data.body.append(part);
    return part.size();
}

}  // namespace pb::daemon::http_detail
