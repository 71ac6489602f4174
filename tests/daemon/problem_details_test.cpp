// Every HTTP error pbd answers is an RFC 9457 problem document; rate limits
// are told in draft-ietf-httpapi-ratelimit-headers-11's two fields; the JWKS
// is cacheable and answers HEAD; pbctl --server without a credential names
// PB_API_KEY. All through the real pbd and pbctl.
#include <arpa/inet.h>
#include <cctype>
#include <netinet/in.h>
#include <optional>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

std::string header(const httplib::Result& r, const char* name) {
    return r && r->has_header(name) ? r->get_header_value(name) : std::string();
}

// Checks that `res` is a problem document of `status` and `code`, with
// exactly the members RFC 9457 and pb's decision promise, and returns it.
json expect_problem(const httplib::Result& res, int status, const std::string& code,
                    const std::string& type) {
    EXPECT_TRUE(res) << (res ? "" : httplib::to_string(res.error()));
    if (!res) {
        return nullptr;
    }
    EXPECT_EQ(res->status, status) << res->body;
    EXPECT_EQ(header(res, "Content-Type"), "application/problem+json") << res->body;
    EXPECT_EQ(header(res, "Cache-Control"), "no-store");
    const auto body = body_json(res);
    EXPECT_TRUE(body.is_object()) << res->body;
    EXPECT_EQ(body.value("type", ""), "urn:pb:problem:" + type) << res->body;
    EXPECT_EQ(body.value("status", 0), status) << res->body;
    EXPECT_EQ(body.value("code", ""), code) << res->body;
    EXPECT_TRUE(body.contains("title") && body["title"].is_string() &&
                !body["title"].get<std::string>().empty())
        << res->body;
    EXPECT_TRUE(body.contains("detail") && body["detail"].is_string() &&
                !body["detail"].get<std::string>().empty())
        << res->body;
    EXPECT_FALSE(body.contains("error")) << "the old shape: " << res->body;
    return body;
}

// The title is fixed per code: the same for two answers of one code.
void expect_same_title(const json& a, const json& b) {
    EXPECT_EQ(a.value("title", "a"), b.value("title", "b"));
}

// --- RFC 8941 lists, parsed strictly: sf-string items with integer params ---

struct SfItem {
    std::string name;
    std::map<std::string, std::int64_t> params;
};

// Parses `text` as an sf-list whose members are sf-strings with integer
// parameters (what the RateLimit fields are); nullopt on anything else.
std::optional<std::vector<SfItem>> parse_sf_list(std::string_view text) {
    std::vector<SfItem> out;
    std::size_t i = 0;
    const auto sp = [&] {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
            ++i;
        }
    };
    while (true) {
        SfItem item;
        if (i >= text.size() || text[i] != '"') {
            return std::nullopt;
        }
        for (++i;; ++i) {
            if (i >= text.size()) {
                return std::nullopt;
            }
            const char c = text[i];
            if (c == '\\') {
                if (++i >= text.size() || (text[i] != '"' && text[i] != '\\')) {
                    return std::nullopt;
                }
                item.name += text[i];
            } else if (c == '"') {
                ++i;
                break;
            } else if (c < 0x20 || c > 0x7e) {
                return std::nullopt;
            } else {
                item.name += c;
            }
        }
        while (i < text.size() && text[i] == ';') {
            ++i;
            sp();  // RFC 8941: *SP after ";"
            std::string key;
            if (i >= text.size() ||
                !(std::islower(static_cast<unsigned char>(text[i])) != 0 || text[i] == '*')) {
                return std::nullopt;
            }
            while (i < text.size() &&
                   (std::islower(static_cast<unsigned char>(text[i])) != 0 ||
                    std::isdigit(static_cast<unsigned char>(text[i])) != 0 || text[i] == '_' ||
                    text[i] == '-' || text[i] == '.' || text[i] == '*')) {
                key += text[i++];
            }
            if (i >= text.size() || text[i] != '=') {
                return std::nullopt;  // a bare key is a boolean: not in these fields
            }
            ++i;
            std::string digits;
            if (i < text.size() && text[i] == '-') {
                digits += text[i++];
            }
            while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
                digits += text[i++];
            }
            const auto n = digits.size() - (digits.starts_with('-') ? 1 : 0);
            if (n == 0 || n > 15 || item.params.contains(key)) {
                return std::nullopt;
            }
            item.params[key] = std::stoll(digits);
        }
        out.push_back(std::move(item));
        sp();
        if (i == text.size()) {
            return out;
        }
        if (text[i] != ',') {
            return std::nullopt;
        }
        ++i;
        sp();
        if (i == text.size()) {
            return std::nullopt;  // a trailing comma
        }
    }
}

TEST(ProblemDetails, TheListParserIsStrict) {
    const auto ok = parse_sf_list(R"("ip";q=100;w=60, "key";q=10;w=1)");
    ASSERT_TRUE(ok);
    ASSERT_EQ(ok->size(), 2U);
    EXPECT_EQ((*ok)[1].name, "key");
    EXPECT_EQ((*ok)[1].params.at("q"), 10);
    for (const char* bad : {R"(ip;q=1)", R"("ip";q=1,)", R"("ip";Q=1)", R"("ip";q)",
                            R"("ip";q=1.5)", R"("ip";q=1 "key")", R"("ip";q=1;q=2)", ""}) {
        EXPECT_FALSE(parse_sf_list(bad)) << bad;
    }
}

// The RateLimit-Policy and RateLimit fields of `res`, parsed; each must be
// present exactly once and be a valid list (RateLimit: of one item).
std::pair<std::vector<SfItem>, SfItem> rate_limit_fields(const httplib::Result& res) {
    EXPECT_EQ(res->get_header_value_count("RateLimit-Policy"), 1U);
    EXPECT_EQ(res->get_header_value_count("RateLimit"), 1U);
    for (const char* gone : {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}) {
        EXPECT_FALSE(res->has_header(gone)) << gone;
    }
    auto policy = parse_sf_list(header(res, "RateLimit-Policy"));
    auto limit = parse_sf_list(header(res, "RateLimit"));
    EXPECT_TRUE(policy) << header(res, "RateLimit-Policy");
    EXPECT_TRUE(limit && limit->size() == 1U) << header(res, "RateLimit");
    if (!policy || !limit || limit->size() != 1U) {
        return {};
    }
    return {*policy, limit->front()};
}

// --- the raw socket, for what an HTTP library will not send ---

int connect_to(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
}

// Sends `request` on a fresh connection and reads until pbd closes it.
std::string raw_exchange(int port, const std::string& request) {
    const int fd = connect_to(port);
    EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string out;
    char buf[4096];
    for (int i = 0; i < 1000; ++i) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

// The status, Content-Type and body of a raw answer.
struct RawAnswer {
    int status = 0;
    std::string content_type;
    json body;
    std::string head;  // the status line and header fields

    // The value of the header field `name` (as pbd spells it), or "".
    std::string field(const std::string& name) const {
        const auto at = head.find("\r\n" + name + ": ");
        if (at == std::string::npos) {
            return {};
        }
        const auto from = at + name.size() + 4;
        return head.substr(from, head.find("\r\n", from) - from);
    }
};

RawAnswer parse_raw(const std::string& text) {
    RawAnswer a;
    if (text.size() < 12 || !text.starts_with("HTTP/1.1 ")) {
        ADD_FAILURE() << "not an HTTP answer: " << text;
        return a;
    }
    a.status = std::stoi(text.substr(9, 3));
    const auto end = text.find("\r\n\r\n");
    const auto head = text.substr(0, end);
    a.head = head;
    const auto ct = head.find("\r\nContent-Type: ");
    if (ct != std::string::npos) {
        const auto from = ct + 16;
        a.content_type = head.substr(from, head.find("\r\n", from) - from);
    }
    if (end != std::string::npos) {
        a.body = json::parse(text.substr(end + 4), nullptr, false);
    }
    return a;
}

class ProblemDetailsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        m_pbd = std::make_unique<RunningDaemon>(
            m_dir, DaemonOptions{.env = {{"PB_MAX_BODY", "512"}, {"PB_MAX_HEADER", "2048"}}});
        m_admin = m_pbd->bootstrap_key();
        ASSERT_FALSE(m_admin.empty());
        m_client = m_pbd->client();
    }

    TempDir m_dir;
    std::unique_ptr<RunningDaemon> m_pbd;
    std::string m_admin;
    std::unique_ptr<httplib::Client> m_client;
};

// Pins: 400 from an op's validation names the argument (param) beside the
// standard members; 404, 405, 409, 401 and 403 likewise, each with its type.
TEST_F(ProblemDetailsTest, EachErrorClassIsAProblemDocument) {
    // 400: validation.
    const auto invalid =
        expect_problem(m_client->Post("/v1/keys", bearer(m_admin), R"({"owner":"x","nosuch":1})",
                                      "application/json"),
                       400, "invalid_argument", "invalid-argument");
    EXPECT_TRUE(invalid.contains("param")) << invalid.dump();
    EXPECT_EQ(invalid.value("title", ""), "Invalid argument");

    // 401: no credential; the reason is a member.
    const auto missing = m_client->Get("/v1/keys");
    const auto unauthenticated = expect_problem(missing, 401, "unauthenticated", "unauthenticated");
    EXPECT_EQ(unauthenticated.value("reason", ""), "missing");
    EXPECT_EQ(header(missing, "WWW-Authenticate"), "Bearer");
    // A wrong key: never echoed whole.
    const std::string wrong = "pb_AAAAAAAAAAAA_" + std::string(40, 'z');
    const auto refused = m_client->Get("/v1/keys", bearer(wrong));
    const auto wrong_key = expect_problem(refused, 401, "unauthenticated", "unauthenticated");
    expect_same_title(unauthenticated, wrong_key);
    EXPECT_EQ(refused->body.find(std::string(40, 'z')), std::string::npos) << refused->body;

    // 403: permission_denied.
    const auto reader =
        created_key(*m_pbd, m_admin, {{"owner", "r"}, {"permissions", {"keys:read"}}});
    const auto denied =
        expect_problem(m_client->Post("/v1/keys", bearer(reader["key"].get<std::string>()),
                                      R"({"owner":"x"})", "application/json"),
                       403, "permission_denied", "permission-denied");
    EXPECT_EQ(denied.value("title", ""), "Permission denied");

    // 404: no route (with the path, a secret-shaped segment cut), and an unknown object.
    const auto no_route =
        expect_problem(m_client->Get("/v1/nosuch", bearer(m_admin)), 404, "not_found", "not-found");
    EXPECT_EQ(no_route.value("path", ""), "/v1/nosuch");
    const auto leaked = m_client->Get(("/v1/nosuch/" + wrong).c_str(), bearer(m_admin));
    expect_problem(leaked, 404, "not_found", "not-found");
    EXPECT_EQ(leaked->body.find(std::string(40, 'z')), std::string::npos) << leaked->body;
    const auto gone = expect_problem(m_client->Get("/v1/keys/AAAAAAAAAAAA", bearer(m_admin)), 404,
                                     "not_found", "not-found");
    expect_same_title(no_route, gone);

    // 405: the method, with Allow; the code is still invalid_argument.
    const auto wrong_method = m_client->Delete("/ready");
    const auto not_allowed =
        expect_problem(wrong_method, 405, "invalid_argument", "invalid-argument");
    EXPECT_EQ(header(wrong_method, "Allow"), "GET");
    EXPECT_EQ(not_allowed.value("allow", ""), "GET");

    // 409: a state registered twice.
    const auto state = R"({"id":"flag_a","type":"feature"})";
    const auto first = m_client->Post("/v1/states", bearer(m_admin), state, "application/json");
    ASSERT_EQ(status_of(first), 201) << first->body;
    const auto conflict =
        expect_problem(m_client->Post("/v1/states", bearer(m_admin), state, "application/json"),
                       409, "conflict", "conflict");
    EXPECT_EQ(conflict.value("title", ""), "Conflict");
}

// Pins: the HTTP server's own refusals, before any route: 413 (body over
// server.max_body), 431 (header over server.max_header), 400 (malformed
// HTTP), 426 (/ws without an upgrade) are problem documents too.
TEST_F(ProblemDetailsTest, TheServersOwnRefusalsAreProblemDocuments) {
    const json big{{"owner", std::string(600, 'a')}};
    expect_problem(m_client->Post("/v1/keys", bearer(m_admin), big.dump(), "application/json"), 413,
                   "invalid_argument", "invalid-argument");
    httplib::Headers huge{{"X-Filler", std::string(3000, 'h')}};
    expect_problem(m_client->Get("/v1/keys", huge), 431, "invalid_argument", "invalid-argument");
    expect_problem(m_client->Get("/ws"), 426, "invalid_argument", "invalid-argument");

    const auto malformed = parse_raw(
        raw_exchange(m_pbd->port(), "GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"));
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(malformed.content_type, "application/problem+json");
    EXPECT_EQ(malformed.body.value("type", ""), "urn:pb:problem:invalid-argument")
        << malformed.body.dump();
    EXPECT_EQ(malformed.body.value("status", 0), 400);
    EXPECT_EQ(malformed.body.value("code", ""), "invalid_argument");
    EXPECT_EQ(status_of(m_client->Get("/health")), 200);
}

// Pins: 503 from the HTTP server itself (server.max_connections reached) is a
// problem document of type unavailable.
TEST(ProblemDetails, TooManyConnectionsIs503Unavailable) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = {{"PB_MAX_CONNECTIONS", "1"}}});
    const int held = connect_to(pbd.port());
    // Once pbd counts the held connection, the next one is turned away.
    RawAnswer answer;
    for (int i = 0; i < 200 && answer.status != 503; ++i) {
        answer = parse_raw(raw_exchange(
            pbd.port(), "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        if (answer.status != 503) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    ::close(held);
    EXPECT_EQ(answer.status, 503);
    EXPECT_EQ(answer.content_type, "application/problem+json");
    EXPECT_EQ(answer.body.value("type", ""), "urn:pb:problem:unavailable") << answer.body.dump();
    EXPECT_EQ(answer.body.value("code", ""), "unavailable");
    EXPECT_EQ(answer.body.value("status", 0), 503);
}

// Pins: a 403 from the gate for a banned address is a problem document of type banned.
TEST(ProblemDetails, ABannedAddressIsABannedProblem) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = {{"PB_BANS_ALLOW", ""}}});
    const auto add = run({pbctl_path(), "bans", "add", "127.0.0.0/8", "--reason", "t", "--force"},
                         {{"PB_DB", pbd.db()}});
    ASSERT_EQ(add.exit_code, 0) << add.err;
    const auto banned = expect_problem(pbd.client()->Get("/v1/keys"), 403, "banned", "banned");
    EXPECT_EQ(banned.value("reason", ""), "t") << banned.dump();
}

// Pins: a 429 from the gate where both the address's limit and the key's own
// limit counted the request carries ONE RateLimit-Policy naming both, ONE
// RateLimit naming the key's (r=0), Retry-After, and a quota-exceeded problem
// naming the violated policy; no RateLimit-Limit/-Remaining/-Reset.
TEST(ProblemDetails, A429CarriesOnePolicyFieldAndTheMostRestrictiveLimit) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = {{"PB_BANS_ALLOW", ""},
                                                 {"PB_LIMITS_IP_RATE", "100/min"},
                                                 {"PB_BANS_AUTO_THRESHOLD", "0"}}});
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    const auto key =
        created_key(
            pbd, admin,
            {{"owner", "svc"}, {"permissions", {"keys:read"}}, {"rate_limit", "2/min"}})["key"]
            .get<std::string>();
    const auto ok = c->Get("/v1/keys", bearer(key));
    ASSERT_EQ(status_of(ok), 200) << ok->body;
    {
        const auto [policy, limit] = rate_limit_fields(ok);
        ASSERT_EQ(policy.size(), 2U) << header(ok, "RateLimit-Policy");
        EXPECT_EQ(policy[0].name, "ip");
        EXPECT_EQ(policy[0].params, (std::map<std::string, std::int64_t>{{"q", 100}, {"w", 60}}));
        EXPECT_EQ(policy[1].name, "key");
        EXPECT_EQ(policy[1].params, (std::map<std::string, std::int64_t>{{"q", 2}, {"w", 60}}));
        EXPECT_EQ(limit.name, "key");  // 1 left of 2, against the address's 9x of 100
        EXPECT_EQ(limit.params.at("r"), 1);
        EXPECT_FALSE(ok->has_header("Retry-After"));
    }
    ASSERT_EQ(status_of(c->Get("/v1/keys", bearer(key))), 200);
    const auto limited = c->Get("/v1/keys", bearer(key));
    const auto problem = expect_problem(limited, 429, "rate_limited", "quota-exceeded");
    EXPECT_EQ(problem.value("title", ""), "Quota exceeded");
    EXPECT_EQ(problem["violated-policies"], json::array({"key"})) << problem.dump();
    const auto [policy, limit] = rate_limit_fields(limited);
    ASSERT_EQ(policy.size(), 2U) << header(limited, "RateLimit-Policy");
    EXPECT_EQ(policy[0].name, "ip");
    EXPECT_EQ(policy[1].name, "key");
    EXPECT_EQ(limit.name, "key");
    EXPECT_EQ(limit.params.at("r"), 0);
    EXPECT_GE(limit.params.at("t"), 1);
    EXPECT_LE(limit.params.at("t"), 60);
    const auto retry = header(limited, "Retry-After");
    ASSERT_FALSE(retry.empty());
    EXPECT_GE(std::stoll(retry), 1);
    EXPECT_LE(std::stoll(retry), 30);  // one request of 2/min comes back within 30 s
}

// Pins: a 429 for the address names "ip" as the violated policy and in RateLimit.
TEST(ProblemDetails, AnAddressOverItsLimitViolatesTheIpPolicy) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = {{"PB_BANS_ALLOW", ""},
                                                 {"PB_LIMITS_IP_RATE", "2/min"},
                                                 {"PB_BANS_AUTO_THRESHOLD", "0"}}});
    auto c = pbd.client();
    ASSERT_EQ(status_of(c->Get("/health")), 200);
    ASSERT_EQ(status_of(c->Get("/health")), 200);
    const auto limited = c->Get("/health");
    const auto problem = expect_problem(limited, 429, "rate_limited", "quota-exceeded");
    EXPECT_EQ(problem["violated-policies"], json::array({"ip"})) << problem.dump();
    const auto [policy, limit] = rate_limit_fields(limited);
    ASSERT_EQ(policy.size(), 1U);
    EXPECT_EQ(policy[0].params, (std::map<std::string, std::int64_t>{{"q", 2}, {"w", 60}}));
    EXPECT_EQ(limit.name, "ip");
    EXPECT_EQ(limit.params.at("r"), 0);
    EXPECT_FALSE(header(limited, "Retry-After").empty());
}

// Pins: a WebSocket upgrade refused by the address's limit is an HTTP 429
// problem document too, with Retry-After and the RateLimit fields.
TEST(ProblemDetails, ARefusedWebSocketUpgradeIsAProblemWithRetryAfter) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = {{"PB_BANS_ALLOW", ""},
                                                 {"PB_LIMITS_IP_RATE", "1/min"},
                                                 {"PB_BANS_AUTO_THRESHOLD", "0"}}});
    ASSERT_EQ(status_of(pbd.client()->Get("/health")), 200);
    const auto refused =
        parse_raw(raw_exchange(pbd.port(),
                               "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: "
                               "websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                               "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
    EXPECT_EQ(refused.status, 429) << refused.head;
    EXPECT_EQ(refused.content_type, "application/problem+json");
    EXPECT_EQ(refused.body.value("type", ""), "urn:pb:problem:quota-exceeded")
        << refused.body.dump();
    EXPECT_EQ(refused.body["violated-policies"], json::array({"ip"}));
    EXPECT_FALSE(refused.field("Retry-After").empty()) << refused.head;
    EXPECT_EQ(refused.field("RateLimit-Policy"), R"("ip";q=1;w=60)") << refused.head;
    EXPECT_TRUE(refused.field("RateLimit").starts_with(R"("ip";r=0;t=)")) << refused.head;
}

// Pins: POST /v1/limits/check tells the decision asked about in the same two
// fields (the identifier's policy, not the caller's), and Retry-After once it
// says no (an answer, 200).
TEST(ProblemDetails, LimitsCheckAnswersInTheRateLimitFields) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    const std::string body = R"({"id":"198.51.100.4","scope":"ip","cost":100})";
    const auto first = c->Post("/v1/limits/check", bearer(admin), body, "application/json");
    ASSERT_EQ(status_of(first), 200) << (first ? first->body : "");
    const auto decision = body_json(first);
    ASSERT_EQ(decision["allowed"], true) << decision.dump();
    const auto [policy, limit] = rate_limit_fields(first);
    ASSERT_EQ(policy.size(), 1U) << header(first, "RateLimit-Policy");
    EXPECT_EQ(policy[0].name, "ip");
    EXPECT_EQ(policy[0].params.at("q"), decision["limit"].get<std::int64_t>());
    EXPECT_EQ(policy[0].params.at("w"), 1);  // limits.ip.rate 100/s: the burst of 100 in 1 s
    EXPECT_EQ(limit.name, "ip");
    EXPECT_EQ(limit.params.at("r"), 0);
    EXPECT_FALSE(first->has_header("Retry-After"));
    const auto second = c->Post("/v1/limits/check", bearer(admin), body, "application/json");
    ASSERT_EQ(status_of(second), 200);
    EXPECT_EQ(body_json(second)["allowed"], false);
    EXPECT_EQ(rate_limit_fields(second).second.params.at("r"), 0);
    EXPECT_FALSE(header(second, "Retry-After").empty());
}

// Pins: GET /.well-known/jwks.json may be cached (public, max-age) and HEAD
// answers it with the same headers and no body.
TEST(ProblemDetails, JwksIsCacheableAndAnswersHead) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto c = pbd.client();
    ASSERT_EQ(status_of(c->Post("/v1/tokens/keys/rotate", bearer(pbd.bootstrap_key()), "{}",
                                "application/json")),
              200);
    const auto get = c->Get("/.well-known/jwks.json");
    ASSERT_EQ(status_of(get), 200);
    EXPECT_EQ(header(get, "Cache-Control"), "public, max-age=300");
    EXPECT_EQ(body_json(get)["keys"].size(), 1U) << get->body;
    const auto head = c->Head("/.well-known/jwks.json");
    ASSERT_EQ(status_of(head), 200);
    EXPECT_TRUE(head->body.empty());
    EXPECT_EQ(header(head, "Cache-Control"), "public, max-age=300");
    EXPECT_EQ(header(head, "Content-Type"), "application/json");
    EXPECT_EQ(header(head, "Content-Length"), std::to_string(get->body.size()));
    // Other routes stay no-store; HEAD elsewhere is still 405, with a problem.
    EXPECT_EQ(header(c->Get("/health"), "Cache-Control"), "no-store");
    const auto other = c->Head("/v1/keys");
    EXPECT_EQ(status_of(other), 405);
    EXPECT_EQ(header(other, "Content-Type"), "application/problem+json");
    const auto post = c->Post("/.well-known/jwks.json", "{}", "application/json");
    EXPECT_EQ(status_of(post), 405);
    EXPECT_NE(header(post, "Allow").find("HEAD"), std::string::npos) << header(post, "Allow");
}

// Pins: pbctl --server without a credential says to set PB_API_KEY (exit 3),
// not which HTTP header to send; with one, pbd's problem documents keep
// pbctl's exit codes and messages (4 for an unknown key id).
TEST(ProblemDetails, PbctlServerReadsProblemsAndNamesPbApiKey) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto none = run({pbctl_path(), "--server", pbd.url(), "keys", "list"}, {});
    EXPECT_EQ(none.exit_code, 3) << none.err;
    EXPECT_NE(none.err.find("PB_API_KEY"), std::string::npos) << none.err;
    EXPECT_EQ(none.err.find("X-API-Key"), std::string::npos) << none.err;
    const auto streaming =
        run({pbctl_path(), "--server", pbd.url(), "events", "tail", "--topic", "keys/*"}, {});
    EXPECT_EQ(streaming.exit_code, 3) << streaming.err;
    EXPECT_NE(streaming.err.find("PB_API_KEY"), std::string::npos) << streaming.err;

    const std::map<std::string, std::string> env{{"PB_API_KEY", pbd.bootstrap_key()}};
    const auto unknown =
        run({pbctl_path(), "--server", pbd.url(), "keys", "show", "AAAAAAAAAAAA"}, env);
    EXPECT_EQ(unknown.exit_code, 4) << unknown.err;
    const auto local = run({pbctl_path(), "--db", pbd.db(), "keys", "show", "AAAAAAAAAAAA"}, {});
    EXPECT_EQ(local.exit_code, 4) << local.err;
    EXPECT_EQ(unknown.err, local.err);
    const auto json_out = run(
        {pbctl_path(), "--server", pbd.url(), "-o", "json", "keys", "show", "AAAAAAAAAAAA"}, env);
    EXPECT_EQ(json_out.exit_code, 4);
    const auto printed = json::parse(json_out.out, nullptr, false);
    EXPECT_EQ(printed["error"]["code"], "not_found") << json_out.out;
}

}  // namespace
}  // namespace pb::test
