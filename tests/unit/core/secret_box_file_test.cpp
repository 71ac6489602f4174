// The master key file: made once, whole, even when several processes start at
// once or one is killed while making it.
#include <filesystem>
#include <fstream>
#include <latch>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/core/secret_box.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb {
namespace {

// Pins: openers racing on a missing key file all get the one key (a value
// sealed by any opens with every other); none sees a half-written file.
TEST(SecretBoxFile, RacingFirstOpensAgreeOnOneWholeKey) {
    test::TempDir dir;
    for (int attempt = 0; attempt < 30; ++attempt) {
        const auto path = dir.file("keys/" + std::to_string(attempt) + "/master.key");
        // pb creates only its default folders: the key's folder exists already.
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        constexpr int k_openers = 6;
        std::vector<std::unique_ptr<SecretBox>> boxes(k_openers);
        std::vector<std::string> errors(k_openers);
        std::latch start(k_openers);
        std::vector<std::thread> threads;
        for (int i = 0; i < k_openers; ++i) {
            threads.emplace_back([&, i] {
                start.arrive_and_wait();
                try {
                    boxes[i] = SecretBox::open(path);
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                }
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        for (int i = 0; i < k_openers; ++i) {
            ASSERT_EQ(errors[i], "") << "attempt " << attempt << ", opener " << i;
        }
        const auto sealed = boxes[0]->seal("value", "ctx");
        for (int i = 1; i < k_openers; ++i) {
            EXPECT_EQ(boxes[i]->open_sealed(sealed, "ctx"), "value");
        }
    }
}

// Pins: the key file is 0600 and making it leaves nothing else in its folder
// (no temporary file behind).
TEST(SecretBoxFile, MadeAloneWithOwnerOnlyMode) {
    test::TempDir dir;
    const auto path = dir.file("master.key");
    ASSERT_NE(SecretBox::open(path), nullptr);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        EXPECT_EQ(e.path().filename(), "master.key");
        ++entries;
    }
    EXPECT_EQ(entries, 1);
}

// Pins: an empty key file (what a process killed between creating and
// writing it used to leave) is refused as malformed, not taken as a key.
TEST(SecretBoxFile, AnEmptyKeyFileIsRefused) {
    test::TempDir dir;
    const auto path = dir.file("master.key");
    { std::ofstream(path).flush(); }
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    try {
        SecretBox::open(path);
        FAIL() << "an empty key file was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("does not hold"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace pb
