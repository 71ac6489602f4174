// What only the local backend has: encryption at rest under the master key,
// bound to the row, and its events.

#include "common/events/outbox.hpp"
#include "tests/unit/secrets/backend_fixture.hpp"

namespace pb::secrets::test {
namespace {

constexpr const char* k_value = "hunter2-correct-horse-battery";

class LocalBackendTest : public SecretsEnv, public ::testing::Test {
  protected:
    std::string text(const std::string& sql, const store::Params& params = {}) {
        return store->transaction(
            [&](store::Connection& c) { return c.query(sql, params).front().get_text(0); },
            store::TxMode::read);
    }
    void exec(const std::string& sql, const store::Params& params) {
        store->transaction([&](store::Connection& c) { c.exec(sql, params); });
    }
    // Everything the database holds, as text.
    std::string dump_all() {
        std::string all;
        store->transaction(
            [&](store::Connection& c) {
                for (const auto& table : {"secrets", "secret_versions", "events", "audit_log"}) {
                    for (const auto& row : c.query(std::string("SELECT * FROM ") + table)) {
                        for (std::size_t i = 0; i < row.size(); ++i) {
                            if (!row.is_null(i)) {
                                try {
                                    all += row.get_text(i) + "\n";
                                } catch (const std::exception&) {
                                }
                            }
                        }
                    }
                }
            },
            store::TxMode::read);
        return all;
    }
};

// Values are sealed at rest: nothing in any table holds them in clear.
TEST_F(LocalBackendTest, StoresNoValueInClear) {
    auto b = local_backend();
    b->write("app/db", {{"password", k_value}}, std::nullopt);
    b->patch("app/db", {{"other", k_value}}, std::nullopt);
    const auto all = dump_all();
    EXPECT_EQ(all.find(k_value), std::string::npos);
    EXPECT_EQ(all.find("password"), std::string::npos) << "field names are sealed too";
    EXPECT_TRUE(text("SELECT sealed FROM secret_versions WHERE version = 1").starts_with("v1:"));
}

// Another master key opens nothing: a clear error, no value, and a patch changes nothing.
TEST_F(LocalBackendTest, WrongMasterKeyIsAClearError) {
    local_backend()->write("app/db", {{"password", k_value}}, std::nullopt);
    const SecretBox other(std::string(32, 'x'));
    auto wrong = local_backend(&other);
    try {
        wrong->read("app/db", std::nullopt);
        FAIL() << "read with the wrong key succeeded";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("master key"), std::string::npos) << what;
        EXPECT_NE(what.find("app/db"), std::string::npos) << what;
        EXPECT_EQ(what.find(k_value), std::string::npos);
    }
    EXPECT_THROW(wrong->patch("app/db", {{"x", "1"}}, std::nullopt), Error);
    EXPECT_EQ(wrong->metadata("app/db").current_version, 1);
    EXPECT_EQ(local_backend()->read("app/db", std::nullopt).data.at("password"), k_value);
}

// A flipped byte in a ciphertext is detected, not decrypted into garbage.
TEST_F(LocalBackendTest, TamperedCiphertextIsDetected) {
    auto b = local_backend();
    b->write("app/db", {{"password", k_value}}, std::nullopt);
    auto sealed = text("SELECT sealed FROM secret_versions WHERE path = 'app/db'");
    auto& c = sealed[sealed.size() / 2];
    c = c == 'A' ? 'B' : 'A';
    exec("UPDATE secret_versions SET sealed = $1 WHERE path = 'app/db'", {sealed});
    EXPECT_EQ(error_code_of([&] { b->read("app/db", std::nullopt); }), ErrorCode::internal);
}

// A ciphertext moved to another version or another path does not open there.
TEST_F(LocalBackendTest, CiphertextsCannotBeSwappedBetweenRows) {
    auto b = local_backend();
    b->write("app/db", {{"password", "old"}}, std::nullopt);
    b->write("app/db", {{"password", "new"}}, std::nullopt);
    b->write("app/other", {{"password", "theirs"}}, std::nullopt);
    const auto v1 =
        text("SELECT sealed FROM secret_versions WHERE path = 'app/db' AND version = 1");
    exec("UPDATE secret_versions SET sealed = $1 WHERE path = 'app/db' AND version = 2", {v1});
    EXPECT_EQ(error_code_of([&] { b->read("app/db", 2); }), ErrorCode::internal);
    exec("UPDATE secret_versions SET sealed = $1 WHERE path = 'app/other' AND version = 1", {v1});
    EXPECT_EQ(error_code_of([&] { b->read("app/other", 1); }), ErrorCode::internal);
    EXPECT_EQ(b->read("app/db", 1).data.at("password"), "old");
}

// Destroy erases the ciphertext itself, not just a flag.
TEST_F(LocalBackendTest, DestroyErasesTheCiphertext) {
    auto b = local_backend();
    b->write("app/db", {{"password", k_value}}, std::nullopt);
    b->destroy("app/db", {1});
    const auto nulls = store->transaction(
        [](store::Connection& c) {
            return c.query("SELECT COUNT(*) FROM secret_versions WHERE sealed IS NULL")
                .front()
                .get_int(0);
        },
        store::TxMode::read);
    EXPECT_EQ(nulls, 1);
}

// Every change appends an event on "secrets/<path>" that names versions, never values.
TEST_F(LocalBackendTest, ChangesAreEventsWithoutValues) {
    auto b = local_backend();
    b->write("app/db", {{"password", k_value}}, std::nullopt);
    b->remove("app/db", {});
    b->undelete("app/db", {1});
    b->destroy("app/db", {1});
    b->update_metadata("app/db", MetadataUpdate{.max_versions = 3});
    const auto events = store->transaction(
        [](store::Connection& c) { return events::read_after(c, 0, 100); }, store::TxMode::read);
    std::vector<std::string> types;
    for (const auto& e : events) {
        EXPECT_EQ(e.topic, "secrets/app/db");
        EXPECT_EQ(e.data.dump().find(k_value), std::string::npos);
        types.push_back(e.type);
    }
    EXPECT_EQ(types,
              (std::vector<std::string>{"secret.written", "secret.deleted", "secret.undeleted",
                                        "secret.destroyed", "secret.metadata"}));
}

// The latest-version cache of one backend sees every commit made by another
// (as another process would make them) at once.
TEST_F(LocalBackendTest, CacheSeesOtherWriters) {
    auto reader = local_backend();
    auto writer = local_backend();
    writer->write("app/db", {{"p", "1"}}, std::nullopt);
    EXPECT_EQ(reader->read("app/db", std::nullopt).data.at("p"), "1");
    EXPECT_EQ(reader->read("app/db", std::nullopt).data.at("p"), "1");
    writer->write("app/db", {{"p", "2"}}, std::nullopt);
    EXPECT_EQ(reader->read("app/db", std::nullopt).data.at("p"), "2");
    writer->remove("app/db", {});
    EXPECT_EQ(error_code_of([&] { reader->read("app/db", std::nullopt); }), ErrorCode::not_found);
    writer->undelete("app/db", {2});
    EXPECT_EQ(reader->read("app/db", std::nullopt).version, 2);
    exec("UPDATE secret_versions SET sealed = 'v1:AAAA' WHERE path = $1 AND version = $2",
         {std::string("app/db"), std::int64_t{2}});
    EXPECT_EQ(error_code_of([&] { reader->read("app/db", std::nullopt); }), ErrorCode::internal);
}

// Paths are checked before anything is stored.
TEST(SecretPath, RejectsBadPaths) {
    for (const char* bad :
         {"", "/a", "a/", "a//b", "a/../b", "a/./b", "a b", "a#b", "a@1", "a?b", "ä"}) {
        EXPECT_EQ(error_code_of([&] { validate_path(bad); }), ErrorCode::invalid_argument) << bad;
    }
    for (const char* good : {"a", "app/db", "team-1/svc_2/key.v3"}) {
        EXPECT_NO_THROW(validate_path(good)) << good;
    }
    EXPECT_EQ(error_code_of([] { validate_path(std::string(513, 'a')); }),
              ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace pb::secrets::test
