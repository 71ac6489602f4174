#include <string>

#include <gtest/gtest.h>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using VerifySecrecyTest = PbctlTest;

// Checks that neither stream of `r` holds `secret` (or its secret part).
void expect_not_echoed(const pb::test::RunResult& r, const std::string& secret) {
    const auto part = secret.size() > 16 ? secret.substr(16, 20) : secret;
    EXPECT_EQ(r.out.find(part), std::string::npos) << "stdout: " << r.out;
    EXPECT_EQ(r.err.find(part), std::string::npos) << "stderr: " << r.err;
}

// The key on stdin never appears in the output of a failed verify, whatever the reason.
TEST_F(VerifySecrecyTest, FailedVerifyNeverEchoesTheKey) {
    const auto revoked = create_key();
    ok({"keys", "revoke", id_of(revoked)});
    auto typo = create_key();
    typo[30] = typo[30] == 'Q' ? 'R' : 'Q';
    const auto wrong_secret = [&] {
        auto k = create_key();
        ok({"keys", "rotate", id_of(k)});
        return k;
    }();
    const std::string not_a_key = "pb_thisIsNotAKeyAtAll_s3cr3tPartOfAnAlmostKey";
    for (const auto& key : {revoked, typo, wrong_secret, not_a_key}) {
        SCOPED_TRACE(key);
        for (const auto& format : {"table", "json"}) {
            const auto r = pbctl({"keys", "verify", "-", "-o", format}, key + "\n");
            EXPECT_EQ(r.exit_code, 3) << r.err;
            expect_not_echoed(r, key);
        }
        const auto q = pbctl({"keys", "verify", "-", "-q"}, key + "\n");
        EXPECT_EQ(q.exit_code, 3);
        expect_not_echoed(q, key);
    }
}

// Even an input that fails validation (too long) is not echoed.
TEST_F(VerifySecrecyTest, OverlongInputIsNotEchoed) {
    const std::string secret = "pb_s3cr3t" + std::string(5000, 'k');
    const auto r = pbctl({"keys", "verify", "-", "-o", "json"}, secret);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out.find("s3cr3t"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("s3cr3t"), std::string::npos) << r.err;
}

// A successful verify does not print the key either.
TEST_F(VerifySecrecyTest, SuccessfulVerifyDoesNotPrintTheKey) {
    const auto key = create_key();
    for (const auto& format : {"table", "json"}) {
        const auto r = pbctl({"keys", "verify", "-", "-o", format}, key + "\n");
        EXPECT_EQ(r.exit_code, 0);
        expect_not_echoed(r, key);
    }
}

// Keys created by pbctl leave no secret in the database files.
TEST_F(VerifySecrecyTest, DatabaseHoldsNoSecret) {
    const auto key = create_key();
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, key).exit_code, 0);
    std::string bytes;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        bytes += pb::test::read_file(entry.path().string());
    }
    ASSERT_NE(bytes.find(id_of(key)), std::string::npos);
    EXPECT_EQ(bytes.find(key.substr(16, 32)), std::string::npos);
}

}  // namespace
}  // namespace pb::cli::test
