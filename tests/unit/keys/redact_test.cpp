#include "common/keys/redact.hpp"

#include <gtest/gtest.h>

#include "common/keys/format.hpp"

namespace pb::keys::test {
namespace {

// Pins: a whole key anywhere in a text is cut to pb_<id>_…; its secret and
// checksum are gone, the rest of the text is kept.
TEST(RedactKeys, CutsAWholeKeyToItsPublicId) {
    const auto id = new_key_id();
    const auto key = make_key(id);
    const auto text = redact_keys("no route for GET /v1/keys/" + key + "?x=1");
    EXPECT_EQ(text, "no route for GET /v1/keys/pb_" + id + "_\xE2\x80\xA6?x=1");
    EXPECT_EQ(text.find(key.substr(16)), std::string::npos);
}

// Pins: a request target is decoded before it is cut, so an escaped key
// (pb%5F…, %70b_…) loses its secret too; a broken escape is cut as sent.
TEST(RedactKeys, TargetsAreDecodedThenCut) {
    const auto id = new_key_id();
    const auto key = make_key(id);
    for (const auto& target : {"/v1/keys/pb%5F" + key.substr(3), "/v1/keys/%70b_" + key.substr(3),
                               "/x?k=" + key + "&bad=%zz"}) {
        const auto text = redact_keys_in_target(target);
        EXPECT_EQ(text.find(key.substr(16)), std::string::npos) << text;
        EXPECT_NE(text.find("pb_" + id + "_"), std::string::npos) << text;
    }
}

// Pins: a mistyped key (bad checksum, shorter secret) is still cut, as are
// several keys in one text; an id alone or text without a key is unchanged.
TEST(RedactKeys, CutsKeyShapesNotJustValidKeys) {
    const auto a = make_key(new_key_id());
    auto b = make_key(new_key_id());
    b.back() = b.back() == 'x' ? 'y' : 'x';
    const auto text = redact_keys(a + "," + b + " pb_ABCDEFGHIJKL_abc");
    EXPECT_EQ(text.find(a.substr(16)), std::string::npos) << text;
    EXPECT_EQ(text.find(b.substr(16)), std::string::npos) << text;
    EXPECT_NE(text.find("pb_ABCDEFGHIJKL_\xE2\x80\xA6"), std::string::npos) << text;
    for (const std::string same :
         {"", "no key ABCDEFGHIJKL", "pb_", "pb_short_secret", "pb_ABCDEFGHIJKL_", "pb_pb_pb"}) {
        EXPECT_EQ(redact_keys(same), same);
    }
}

// Pins: an Error keeps its code and loses the key from its message and details.
TEST(RedactKeys, ErrorsKeepTheirCode) {
    const auto key = make_key(new_key_id());
    const auto e = redact_keys_error(
        Error(ErrorCode::not_found, "no key " + key, {{"id", key}, {"list", {key}}}));
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    const auto all = e.to_json().dump();
    EXPECT_EQ(all.find(key.substr(16)), std::string::npos) << all;
}

// Pins: where a key's id belongs, an id is kept, pb's key is cut to
// pb_<id>_…, and anything else (another system's key, imported by hash) is
// "…"; a target's segment after /v1/keys/ is cut so, but for verify and import.
TEST(RedactKeys, WhatIsNoKeyIdIsNotShownWhereAnIdBelongs) {
    const auto id = new_key_id();
    const auto key = make_key(id);
    EXPECT_EQ(redact_key_id(id), id);
    EXPECT_EQ(redact_key_id(key), "pb_" + id + "_\xE2\x80\xA6");
    for (const std::string other : {"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "xoxb-17653672481-19874698",
                                    "sk.live.dotted", "", "ABCDEFGHIJK", "ABCDEFGHIJKLM"}) {
        EXPECT_EQ(redact_key_id(other), "\xE2\x80\xA6") << other;
    }
    EXPECT_EQ(redact_keys_in_target("/v1/keys/sk_live_4eC39HqLyjWDarjtT1zdp7dc/revoke?x=1"),
              "/v1/keys/\xE2\x80\xA6/revoke?x=1");
    EXPECT_EQ(redact_keys_in_target("/v1/keys/xoxb%2D1765"), "/v1/keys/\xE2\x80\xA6");
    EXPECT_EQ(redact_keys_in_target("/v1/keys/" + id + "/revoke"), "/v1/keys/" + id + "/revoke");
    EXPECT_EQ(redact_keys_in_target("/v1/keys/" + key), "/v1/keys/pb_" + id + "_\xE2\x80\xA6");
    for (const std::string same : {"/v1/keys/verify", "/v1/keys/import", "/v1/keys", "/v1/keys/",
                                   "/v1/keys?owner=sk_live_x", "/v1/identities/acme"}) {
        EXPECT_EQ(redact_keys_in_target(same), same);
    }
    nlohmann::json args{{"id", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, {"name", "n"}};
    redact_key_id_arg("identities.update", args);
    EXPECT_EQ(args["id"], "sk_live_4eC39HqLyjWDarjtT1zdp7dc");
    redact_key_id_arg("keys.revoke", args);
    EXPECT_EQ(args, (nlohmann::json{{"id", "\xE2\x80\xA6"}, {"name", "n"}}));
}

}  // namespace
}  // namespace pb::keys::test
