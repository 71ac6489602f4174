// Keys moved in from another system by the SHA-256 of their text
// (keys.import): they verify by their own text, all of an import or none is
// written, only the hash is stored, and a text not in pb's format is looked
// up only while imported keys exist, which another process learns through
// the outbox.
#include "common/keys/import.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/crypto.hpp"
#include "common/keys/format.hpp"
#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

using nlohmann::json;
using pb::test::error_of;

// Another system's key texts (not pb's format).
const std::string k_legacy = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const std::string k_legacy_2 = "sk_live_0aB1c2D3e4F5g6H7i8J9k0Lm";

std::string sha256_hex(const std::string& text) {
    return crypto::to_hex(crypto::sha256(text));
}

ImportedKey legacy(const std::string& text, const std::string& owner = "acme") {
    return ImportedKey{.hash = sha256_hex(text),
                       .key = NewKey{.owner = owner, .name = "legacy", .permissions = {"read"}}};
}

using ImportTest = KeyServiceTest;

// An imported key verifies by its own text, as a key of pb's (id, owner,
// permissions), marked imported; another text does not; pb's keys still do.
TEST_P(ImportTest, ImportedKeysVerifyByTheirText) {
    const auto pb_key = create();
    const auto records = service->import_keys({legacy(k_legacy)}, "test");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_TRUE(records[0].imported);
    const auto r = service->verify(k_legacy);
    ASSERT_TRUE(r.valid) << r.reason;
    EXPECT_EQ(r.reason, "");
    EXPECT_EQ(r.key->id, records[0].id);
    EXPECT_EQ(r.key->owner, "acme");
    EXPECT_EQ(r.key->permissions, std::vector<std::string>{"read"});
    EXPECT_EQ(service->verify(k_legacy + "x").reason, "unknown");
    EXPECT_TRUE(service->verify(pb_key.key).valid);
    const auto shown = service->get(records[0].id).to_json(clock.now());
    EXPECT_EQ(shown["imported"], true);
    EXPECT_EQ(service->get(pb_key.record.id).to_json(clock.now())["imported"], false);
}

// Only the hash is stored (never the text), and no event carries it.
TEST_P(ImportTest, OnlyTheHashIsStored) {
    const auto records = service->import_keys({legacy(k_legacy)}, "test");
    EXPECT_EQ(
        scalar("SELECT COUNT(*) FROM api_keys WHERE secret_hash = $1", {sha256_hex(k_legacy)}), 1);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM api_key_imports WHERE imported_hash = $1",
                     {sha256_hex(k_legacy)}),
              1);
    const auto events = store->transaction(
        [&](store::Connection& c) { return c.query("SELECT type, data FROM events"); },
        store::TxMode::read);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].get_text(0), "key.imported");
    EXPECT_EQ(events[0].get_text(1).find(sha256_hex(k_legacy)), std::string::npos);
    EXPECT_EQ(events[0].get_text(1).find(k_legacy), std::string::npos);
}

// While no key was imported, a text not in pb's format is "malformed" (no
// lookup); once one was, it is looked up, and "unknown" when not found.
TEST_P(ImportTest, NotPbFormatIsLookedUpOnlyOnceKeysWereImported) {
    EXPECT_EQ(service->verify(k_legacy).reason, "malformed");
    EXPECT_FALSE(service->has_imported_keys());
    service->import_keys({legacy(k_legacy_2)}, "test");
    EXPECT_TRUE(service->has_imported_keys());
    EXPECT_EQ(service->verify(k_legacy).reason, "unknown");
    EXPECT_EQ(service->verify(std::string(2000, 'a')).reason, "malformed");  // too long to hash
    EXPECT_EQ(service->verify("").reason, "malformed");
}

// One bad row, a hash already imported, or one given twice: nothing is
// written (no key, no event), and the error names the row.
TEST_P(ImportTest, AllOrNothing) {
    service->import_keys({legacy(k_legacy)}, "test");
    const auto keys = key_rows();
    const auto events = event_rows();

    auto dup = error_of([&] { service->import_keys({legacy(k_legacy_2), legacy(k_legacy)}, "t"); });
    EXPECT_EQ(dup.code(), ErrorCode::conflict);
    EXPECT_NE(std::string(dup.what()).find("row 2"), std::string::npos) << dup.what();

    auto twice = error_of([&] {
        service->import_keys({legacy(k_legacy_2), legacy(k_legacy_2)}, "t");
    });
    EXPECT_EQ(twice.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(twice.what()).find("row 2: the same hash as row 1"), std::string::npos)
        << twice.what();

    auto bad_owner = legacy("sk_other", "");
    auto bad = error_of([&] { service->import_keys({legacy(k_legacy_2), bad_owner}, "t"); });
    EXPECT_EQ(bad.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(bad.what()).find("row 2: owner"), std::string::npos) << bad.what();

    auto bad_hash = legacy("sk_third");
    bad_hash.hash = "ABC";
    EXPECT_EQ(error_code_of([&] { service->import_keys({bad_hash}, "t"); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { service->import_keys({}, "t"); }), ErrorCode::invalid_argument);

    EXPECT_EQ(key_rows(), keys);
    EXPECT_EQ(event_rows(), events);
    EXPECT_EQ(service->verify(k_legacy_2).reason, "unknown");
}

// An imported key is a key like any: disabled, rotated (its old text works
// during the grace), deleted (then its hash can be imported again).
TEST_P(ImportTest, ImportedKeysLiveAsKeys) {
    const auto id = service->import_keys({legacy(k_legacy)}, "test")[0].id;
    service->disable(id, "moving");
    EXPECT_EQ(service->verify(k_legacy).reason, "disabled");
    service->enable(id);
    const auto rotated = service->rotate(id, k_hour);
    EXPECT_TRUE(service->verify(k_legacy).valid);
    EXPECT_TRUE(service->verify(rotated.key).valid);
    clock.advance(2 * k_hour);
    EXPECT_EQ(service->verify(k_legacy).reason, "unknown");
    service->remove(id);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM api_key_imports"), 0);
    EXPECT_EQ(service->verify(k_legacy).reason, "malformed");  // none imported now
    const auto again = service->import_keys({legacy(k_legacy)}, "test")[0].id;
    EXPECT_NE(again, id);
    EXPECT_EQ(service->verify(k_legacy).key->id, again);
}

// Another process learns of an import, and of the last imported key's
// deletion, through the outbox: its answer changes at its next verify.
TEST_P(ImportTest, AnotherProcessLearnsThroughTheOutbox) {
    auto other_store = store::open_store(db_path(), store::StoreOptions{.pool_size = 2});
    KeyService other(*other_store, clock);
    EXPECT_EQ(other.verify(k_legacy).reason, "malformed");  // "none imported" now known there
    const auto id = service->import_keys({legacy(k_legacy)}, "test")[0].id;
    EXPECT_TRUE(seen([&] { return other.verify(k_legacy).valid; }));
    service->disable(id, "");
    EXPECT_TRUE(seen([&] { return other.verify(k_legacy).reason == "disabled"; }));
    service->remove(id);
    EXPECT_TRUE(seen([&] { return other.verify(k_legacy).reason == "malformed"; }));
}

PB_INSTANTIATE_BACKENDS(ImportTest);

// sha256:HEX: 64 hex digits of either case, read as lowercase; anything else
// is invalid_argument saying what is wrong.
TEST(KeyImportInput, HashText) {
    const std::string hex(64, 'A');
    EXPECT_EQ(parse_key_hash("sha256:" + hex), std::string(64, 'a'));
    EXPECT_EQ(parse_key_hash("SHA256:" + hex), std::string(64, 'a'));
    const auto message = [](const std::string& text) {
        return std::string(error_of([&] { parse_key_hash(text); }).what());
    };
    EXPECT_NE(message(hex).find("expected sha256:"), std::string::npos);
    EXPECT_NE(message("md5:" + std::string(32, 'a')).find("\"md5\" is not a supported"),
              std::string::npos);
    EXPECT_NE(message("sha256:" + std::string(63, 'a')).find("64 hex digits, not 63"),
              std::string::npos);
    EXPECT_NE(message("sha256:" + std::string(63, 'a') + "g").find("character 64"),
              std::string::npos);
    EXPECT_EQ(error_code_of([] { parse_key_hash("sha256:"); }), ErrorCode::invalid_argument);
}

// A CSV file: a header naming columns or the default ones; permissions by
// spaces; every line checked, an error naming the line.
TEST(KeyImportInput, CsvFile) {
    const auto h1 = std::string("sha256:") + std::string(64, '1');
    const auto h2 = std::string("sha256:") + std::string(64, '2');
    const auto doc = import_document_from_text("hash,owner,permissions,remaining\n" + h1 +
                                                   ",acme,read write,5\n# note\n" + h2 + ",bob,,\n",
                                               ImportFileFormat::automatic, 0);
    ASSERT_EQ(doc["keys"].size(), 2u);
    EXPECT_EQ(doc["keys"][0]["permissions"], (json{"read", "write"}));
    EXPECT_EQ(doc["keys"][0]["remaining"], 5);
    EXPECT_FALSE(doc["keys"][1].contains("permissions"));
    const auto plain = import_document_from_text(h1 + ",acme,deploy,read,2030-01-01T00:00:00Z\n",
                                                 ImportFileFormat::csv, 0);
    EXPECT_EQ(plain["keys"][0]["name"], "deploy");

    const auto message = [](const std::string& text) {
        return std::string(error_of([&] {
                               import_document_from_text(text, ImportFileFormat::automatic, 0);
                           }).what());
    };
    EXPECT_NE(message(h1 + ",acme\n" + "sha256:zz,acme\n").find("line 2: hash"), std::string::npos);
    EXPECT_NE(message(h1 + ",acme\n\n" + h2 + ",\n").find("line 3: owner"), std::string::npos);
    EXPECT_NE(message(h1 + ",acme\n" + h1 + ",acme\n").find("line 2: the same hash"),
              std::string::npos);
    EXPECT_NE(message("hash,owner,colour\n").find("line 1: unknown column \"colour\""),
              std::string::npos);
    EXPECT_NE(message(h1 + ",acme,\"open\n").find("line 1: a quoted cell"), std::string::npos);
    EXPECT_NE(message(h1 + ",acme,n,p,never,1,{},10/s,extra\n").find("line 1: more cells"),
              std::string::npos);
}

// A JSON document: {"keys":[…]} or a bare array; unknown fields and bad
// values name the row.
TEST(KeyImportInput, JsonDocument) {
    const auto h1 = std::string("sha256:") + std::string(64, '1');
    const auto keys = parse_import_document(json{{"keys",
                                                  {{{"hash", h1},
                                                    {"owner", "acme"},
                                                    {"expires_at", "2030-01-01T00:00:00Z"},
                                                    {"metadata", {{"plan", "pro"}}}}}}},
                                            0);
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0].hash, std::string(64, '1'));
    EXPECT_TRUE(keys[0].key.expires_at.has_value());
    EXPECT_EQ(keys[0].key.metadata["plan"], "pro");
    const auto message = [](const json& doc) {
        return std::string(error_of([&] { parse_import_document(doc, 0); }).what());
    };
    EXPECT_NE(message(json{{"keys", {{{"hash", h1}, {"owner", "a"}, {"permission", {"x"}}}}}})
                  .find("row 1: unknown field \"permission\""),
              std::string::npos);
    EXPECT_NE(message(json::array({json{{"hash", h1}, {"owner", "a"}},
                                   json{{"hash", h1}, {"owner", "a"}, {"remaining", 0}}}))
                  .find("row 2: remaining"),
              std::string::npos);
    EXPECT_NE(message(json{{"keys", {{{"owner", "a"}}}}}).find("row 1: hash: required"),
              std::string::npos);
    EXPECT_NE(message(json{{"nope", json::array()}}).find("expected {\"keys\""), std::string::npos);
}

}  // namespace
}  // namespace pb::keys::test
