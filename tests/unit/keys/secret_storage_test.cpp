#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/keys/format.hpp"
#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

using SecretStorageTest = KeyServiceTest;

// Every byte of every file in the database's folder (.db, -wal, -shm).
std::string all_bytes(const std::filesystem::path& dir) {
    std::string all;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        all += s.str();
    }
    return all;
}

std::string secret_part(const std::string& key) {
    return key.substr(4 + k_id_length, k_secret_length);
}

// After create, verify, rotate and flush, no file holds a secret; only hashes.
TEST_P(SecretStorageTest, DatabaseFilesNeverHoldTheSecret) {
    const auto created = create("ci-bot", {"deploy:write"});
    ASSERT_TRUE(service->verify(created.key).valid);
    service->flush_usage();
    const auto rotated = service->rotate(created.record.id, k_hour);
    ASSERT_TRUE(service->verify(rotated.key).valid);
    ASSERT_TRUE(service->verify(created.key).valid);
    service->flush_usage();

    const auto bytes = all_bytes(db.dir().path());
    ASSERT_TRUE(std::filesystem::exists(db_path() + "-wal"));
    // Positive controls: the files were read and hold the key's id and hash.
    ASSERT_NE(bytes.find(created.record.id), std::string::npos);
    ASSERT_NE(bytes.find(hash_key(rotated.key)), std::string::npos);
    for (const auto& key : {created.key, rotated.key}) {
        EXPECT_EQ(bytes.find(secret_part(key)), std::string::npos);
        EXPECT_EQ(bytes.find(secret_part(key).substr(0, 16)), std::string::npos);
        EXPECT_EQ(bytes.find(key), std::string::npos);
    }
}

// Reads the SQLite files themselves; PostgreSQL keeps its files elsewhere.
INSTANTIATE_TEST_SUITE_P(, SecretStorageTest, ::testing::Values(Backend::sqlite),
                         pb::test::backend_name);

}  // namespace
}  // namespace pb::keys::test
