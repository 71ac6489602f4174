// The JWT path of tokens verify: the strict JSON scanner on the raw bytes (with
// every accessor a verifier uses on what it read), then the token decoder, the
// claim checks and an HMAC verification (RFC 7515 A.1's key) of whatever
// decodes.
#include <nlohmann/json.hpp>

#include "common/core/base64.hpp"
#include "common/core/error.hpp"
#include "common/tokens/jose_key.hpp"
#include "common/tokens/json_scan.hpp"
#include "common/tokens/jwt.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using namespace pb::tokens;

// Reads every member the way verify reads claims.
class ReadAll final : public MemberSink {
  public:
    void member(std::string_view raw_name, bool escaped, JsonSlice value) override {
        (void)json_string_equals(raw_name, "exp");
        (void)escaped;
        read(value);
    }

  private:
    static void read(JsonSlice value) {
        switch (value.kind) {
            case JsonKind::string:
                (void)json_string_value(value);
                (void)json_string_is(value, "access");
                break;
            case JsonKind::number:
                (void)json_number_value(value);
                break;
            case JsonKind::array:
                for_each_element(value, [](JsonSlice e) { read(e); });
                break;
            default:
                break;
        }
    }
};

const JoseKey& hmac_key() {
    static const JoseKey key = [] {
        const auto secret = pb::base64url_decode(
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-"
            "1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
        return JoseKey::from_secret(Alg::HS256, *secret);
    }();
    return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = pb::fuzz::as_text(data, size);
    ReadAll sink;
    (void)is_strict_object(text, &sink);

    DecodedJwt jwt;
    if (decode_jwt(text, 8192, jwt)) {
        return 0;
    }
    try {
        (void)jwt.header();
        (void)jwt.claims();
    } catch (const pb::Error&) {
    }
    ClaimRules rules;
    rules.now = pb::fuzz::k_now_ms;
    rules.leeway_ms = 30'000;
    rules.audience = "pb";
    rules.issuer = "pb";
    (void)check_claims(jwt.registered, rules);
    rules.require_exp = false;
    rules.audience.reset();
    rules.issuer.reset();
    (void)check_claims(jwt.registered, rules);
    if (jwt.alg == "HS256") {
        (void)hmac_key().verify(jwt.signing_input, jwt.signature);
    }
    return 0;
}
