#include "common/core/argv_scrub.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pb {
namespace {

// Runs hide_secret_arguments over `args` (argv[0] first) and returns what ps
// would then show.
std::vector<std::string> scrubbed(std::vector<std::string> args,
                                  std::initializer_list<std::string_view> options) {
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    hide_secret_arguments(static_cast<int>(argv.size()), argv.data(), options);
    return {args.begin(), args.end()};
}

TEST(HideSecretArguments, UrlPasswordsAreMaskedAndTheRestKept) {
    const auto out = scrubbed({"pbd", "--db", "postgresql://pb:s3cret@db/pb", "--redis",
                               "redis://:hunter2@127.0.0.1:6379/0", "--listen", "127.0.0.1:8700"},
                              {});
    EXPECT_EQ(out[2], "postgresql://pb:xxxxxx@db/pb");
    EXPECT_EQ(out[4], "redis://:xxxxxxx@127.0.0.1:6379/0");
    EXPECT_EQ(out[6], "127.0.0.1:8700");
}

TEST(HideSecretArguments, UrlsWithoutPasswordsAreUntouched) {
    const auto out = scrubbed({"pbctl", "--db", "postgresql://pb@db/pb", "--server",
                               "http://127.0.0.1:8700", "--redis=redis://reader@cache:6379/1"},
                              {});
    EXPECT_EQ(out[2], "postgresql://pb@db/pb");
    EXPECT_EQ(out[4], "http://127.0.0.1:8700");
    EXPECT_EQ(out[5], "--redis=redis://reader@cache:6379/1");
}

TEST(HideSecretArguments, NamedOptionsAreMaskedInBothSpellings) {
    const auto out = scrubbed(
        {"pbctl", "--api-key", "pb_abc_def", "--api-key=pb_ghi", "keys", "--api-keys", "visible"},
        {"--api-key"});
    EXPECT_EQ(out[2], "xxxxxxxxxx");
    EXPECT_EQ(out[3], "--api-key=xxxxxx");
    EXPECT_EQ(out[4], "keys");
    EXPECT_EQ(out[6], "visible");  // another option that merely starts alike
}

}  // namespace
}  // namespace pb
