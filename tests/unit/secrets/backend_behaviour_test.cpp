// The behaviour every secrets backend shares, run against the local store and
// against Vault (the KV v2 test server) alike.

#include <atomic>
#include <thread>
#include <vector>

#include "tests/unit/secrets/backend_fixture.hpp"

namespace pb::secrets::test {
namespace {

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest,
                         ::testing::Values(Kind::local, Kind::local_postgres, Kind::vault),
                         kind_name);

// Each write makes a new version; the latest is read by default, older ones by number.
TEST_P(BackendTest, WritesVersionsAndReadsThem) {
    EXPECT_EQ(backend->write("app/db", {{"username", "svc"}, {"password", "one"}}, std::nullopt),
              1);
    EXPECT_EQ(backend->write("app/db", {{"username", "svc"}, {"password", "two"}}, std::nullopt),
              2);
    const auto latest = backend->read("app/db", std::nullopt);
    EXPECT_EQ(latest.version, 2);
    EXPECT_EQ(latest.data.at("password"), "two");
    EXPECT_GT(latest.created_at, 0);
    EXPECT_EQ(read("app/db", 1).at("password"), "one");
}

// A missing secret, or a version that never existed, is not_found.
TEST_P(BackendTest, MissingIsNotFound) {
    EXPECT_EQ(error_code_of([&] { backend->read("app/none", std::nullopt); }),
              ErrorCode::not_found);
    backend->write("app/db", {{"a", "1"}}, std::nullopt);
    EXPECT_EQ(error_code_of([&] { backend->read("app/db", 7); }), ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { backend->metadata("app/none"); }), ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { backend->remove("app/none", {}); }), ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { backend->destroy("app/none", {1}); }), ErrorCode::not_found);
}

// cas 0 writes only a new secret; cas N only over version N; a mismatch changes nothing.
TEST_P(BackendTest, CheckAndSet) {
    EXPECT_EQ(backend->write("app/db", {{"p", "first"}}, 0), 1);
    EXPECT_EQ(error_code_of([&] {
                  backend->write("app/db", {{"p", "again"}}, 0);
              }),
              ErrorCode::conflict);
    EXPECT_EQ(backend->write("app/db", {{"p", "second"}}, 1), 2);
    EXPECT_EQ(error_code_of([&] {
                  backend->write("app/db", {{"p", "stale"}}, 1);
              }),
              ErrorCode::conflict);
    EXPECT_EQ(error_code_of([&] {
                  backend->patch("app/db", {{"p", "stale"}}, 1);
              }),
              ErrorCode::conflict);
    EXPECT_EQ(read("app/db").at("p"), "second");
    EXPECT_EQ(backend->metadata("app/db").current_version, 2);
}

// With cas_required set, a write without cas is refused.
TEST_P(BackendTest, CasRequired) {
    backend->write("app/db", {{"p", "1"}}, std::nullopt);
    backend->update_metadata("app/db", MetadataUpdate{.cas_required = true});
    EXPECT_TRUE(backend->metadata("app/db").cas_required);
    EXPECT_EQ(error_code_of([&] {
                  backend->write("app/db", {{"p", "2"}}, std::nullopt);
              }),
              ErrorCode::conflict);
    EXPECT_EQ(backend->write("app/db", {{"p", "2"}}, 1), 2);
}

// Patch merges into a new version: set, add, remove (null); not on a missing secret.
TEST_P(BackendTest, PatchMerges) {
    backend->write("app/db", {{"a", "1"}, {"b", "2"}}, std::nullopt);
    EXPECT_EQ(backend->patch("app/db", {{"b", "new"}, {"c", "3"}, {"a", std::nullopt}}, 1), 2);
    EXPECT_EQ(read("app/db"), (Fields{{"b", "new"}, {"c", "3"}}));
    EXPECT_EQ(read("app/db", 1), (Fields{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(error_code_of([&] {
                  backend->patch("app/none", {{"a", "1"}}, std::nullopt);
              }),
              ErrorCode::not_found);
}

// Soft delete hides a version; undelete brings it back; other versions stay readable.
TEST_P(BackendTest, DeleteAndUndelete) {
    backend->write("app/db", {{"p", "1"}}, std::nullopt);
    backend->write("app/db", {{"p", "2"}}, std::nullopt);
    backend->remove("app/db", {});
    EXPECT_EQ(error_code_of([&] { backend->read("app/db", std::nullopt); }), ErrorCode::not_found);
    EXPECT_EQ(read("app/db", 1).at("p"), "1");
    EXPECT_EQ(error_code_of([&] {
                  backend->patch("app/db", {{"p", "3"}}, std::nullopt);
              }),
              ErrorCode::not_found);
    auto m = backend->metadata("app/db");
    ASSERT_EQ(m.versions.size(), 2U);
    EXPECT_FALSE(m.versions[0].deleted_at.has_value());
    EXPECT_TRUE(m.versions[1].deleted_at.has_value());
    backend->undelete("app/db", {2});
    EXPECT_EQ(read("app/db").at("p"), "2");
    backend->remove("app/db", {1, 2});
    EXPECT_EQ(error_code_of([&] { backend->read("app/db", 1); }), ErrorCode::not_found);
}

// Destroy erases a version for good: undelete cannot bring it back; metadata says so.
TEST_P(BackendTest, Destroy) {
    backend->write("app/db", {{"p", "1"}}, std::nullopt);
    backend->write("app/db", {{"p", "2"}}, std::nullopt);
    backend->destroy("app/db", {1});
    EXPECT_EQ(error_code_of([&] { backend->read("app/db", 1); }), ErrorCode::not_found);
    backend->undelete("app/db", {1});
    EXPECT_EQ(error_code_of([&] { backend->read("app/db", 1); }), ErrorCode::not_found);
    EXPECT_EQ(read("app/db").at("p"), "2");
    const auto m = backend->metadata("app/db");
    ASSERT_EQ(m.versions.size(), 2U);
    EXPECT_TRUE(m.versions[0].destroyed);
    EXPECT_FALSE(m.versions[1].destroyed);
}

// Only max_versions versions are kept; older ones are forgotten.
TEST_P(BackendTest, MaxVersions) {
    backend->update_metadata("app/db", MetadataUpdate{.max_versions = 2});
    for (int i = 1; i <= 4; ++i) {
        backend->write("app/db", {{"p", std::to_string(i)}}, std::nullopt);
    }
    const auto m = backend->metadata("app/db");
    EXPECT_EQ(m.current_version, 4);
    EXPECT_EQ(m.oldest_version, 3);
    EXPECT_EQ(m.max_versions, 2);
    ASSERT_EQ(m.versions.size(), 2U);
    EXPECT_EQ(m.versions.front().version, 3);
    EXPECT_EQ(error_code_of([&] { backend->read("app/db", 1); }), ErrorCode::not_found);
    EXPECT_EQ(read("app/db", 3).at("p"), "3");
}

// Custom metadata is kept beside the versions.
TEST_P(BackendTest, CustomMetadata) {
    backend->write("app/db", {{"p", "1"}}, std::nullopt);
    backend->update_metadata("app/db",
                             MetadataUpdate{.custom_metadata = std::map<std::string, std::string>{
                                                {"owner", "payments"}, {"rotated", "2026-01"}}});
    const auto m = backend->metadata("app/db");
    EXPECT_EQ(m.custom_metadata.at("owner"), "payments");
    EXPECT_EQ(m.custom_metadata.size(), 2U);
    EXPECT_EQ(m.current_version, 1);
    EXPECT_GT(m.created_at, 0);
}

// List shows the names directly under a prefix, folders with a trailing "/".
TEST_P(BackendTest, Lists) {
    for (const char* p : {"app/db", "app/api", "app/sub/x", "app/sub/y", "other", "app_x/z"}) {
        backend->write(p, {{"v", "1"}}, std::nullopt);
    }
    EXPECT_EQ(backend->list("app/"), (std::vector<std::string>{"api", "db", "sub/"}));
    EXPECT_EQ(backend->list("app"), (std::vector<std::string>{"api", "db", "sub/"}));
    EXPECT_EQ(backend->list(""), (std::vector<std::string>{"app/", "app_x/", "other"}));
    EXPECT_EQ(backend->list("app/sub/"), (std::vector<std::string>{"x", "y"}));
    EXPECT_TRUE(backend->list("nothing/").empty());
}

// list_page pages through list() exactly: for every page size, the pages
// joined are the whole list, in order, each name once; a folder with many
// secrets under it is one name, whatever the page size.
TEST_P(BackendTest, ListPagesJoinToTheList) {
    for (const char* p : {"a", "a-b", "a.c", "a/x", "a/y/z", "a/y/w", "a0", "a_", "b/1", "b/2",
                          "b/3", "c", "top/a", "top/a-/x", "top/a/x", "top/a0", "top/b"}) {
        backend->write(p, {{"v", "1"}}, std::nullopt);
    }
    for (const std::string prefix : {"", "top/", "top/a/", "a"}) {
        const auto all = backend->list(prefix);
        ASSERT_FALSE(all.empty()) << prefix;
        for (std::int64_t limit = 1; limit <= static_cast<std::int64_t>(all.size()) + 1; ++limit) {
            SCOPED_TRACE(prefix + " limit " + std::to_string(limit));
            std::vector<std::string> joined;
            std::optional<std::string> after;
            for (std::size_t guard = 0; guard <= all.size(); ++guard) {
                const auto page = backend->list_page(prefix, after, limit);
                EXPECT_LE(static_cast<std::int64_t>(page.size()), limit);
                joined.insert(joined.end(), page.begin(), page.end());
                if (static_cast<std::int64_t>(page.size()) < limit) {
                    break;
                }
                after = page.back();
            }
            EXPECT_EQ(joined, all);
        }
    }
}

// Writers racing with cas lose no update: each increment is applied exactly once.
TEST_P(BackendTest, CasRacesLoseNoUpdate) {
    backend->write("race/counter", {{"n", "0"}}, std::nullopt);
    constexpr int k_threads = 4;
    constexpr int k_each = 5;
    std::atomic<int> conflicts{0};
    std::atomic<int> other_errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&] {
            int done = 0;
            for (int attempt = 0; attempt < 500 && done < k_each; ++attempt) {
                try {
                    const auto s = backend->read("race/counter", std::nullopt);
                    const auto n = std::stoi(s.data.at("n"));
                    backend->write("race/counter", {{"n", std::to_string(n + 1)}}, s.version);
                    ++done;
                } catch (const Error& e) {
                    // A lost cas race is a conflict; PostgreSQL may also give up
                    // on a serializable write after its retries (unavailable,
                    // "database too busy") on a loaded machine. Both wrote
                    // nothing and are tried again; anything else is a failure.
                    const bool retry =
                        e.code() == ErrorCode::conflict || e.code() == ErrorCode::unavailable;
                    (retry ? conflicts : other_errors)++;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(other_errors.load(), 0);
    const auto s = backend->read("race/counter", std::nullopt);
    EXPECT_EQ(s.data.at("n"), std::to_string(k_threads * k_each));
    EXPECT_EQ(s.version, 1 + k_threads * k_each);
}

// Status names the backend and says it is not sealed.
TEST_P(BackendTest, Status) {
    const auto s = backend->status();
    EXPECT_EQ(s.at("backend"), GetParam() == Kind::vault ? "vault" : "local");
    EXPECT_EQ(s.at("sealed"), false);
    EXPECT_FALSE(s.at("version").get<std::string>().empty());
    EXPECT_FALSE(s.at("auth").get<std::string>().empty());
}

}  // namespace
}  // namespace pb::secrets::test
