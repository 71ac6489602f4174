// pbctl --server reads a JSON param exactly as on the database (inline, path,
// @path, -) and sends pbd the same JSON object.
#include <fstream>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

class JsonParamsServer : public ::testing::Test {
  protected:
    JsonParamsServer() : pbd(dir) { admin = pbd.bootstrap_key(); }

    RunResult pbctl(std::vector<std::string> args, const std::string& in = "") {
        args.insert(args.begin(), {pbctl_path(), "--server", pbd.url()});
        return run(args, {{"PB_API_KEY", admin}}, in);
    }

    json get(const std::string& path) {
        return body_json(pbd.client()->Get(path.c_str(), bearer(admin)));
    }

    TempDir dir;
    RunningDaemon pbd;
    std::string admin;
};

// Pins: a state's data from @file and from a plain path, a key's metadata from
// stdin, and a positional-free inline object all arrive at pbd as the object
// itself (read back over HTTP).
TEST_F(JsonParamsServer, EachFormSendsTheObject) {
    const json data = {{"open", false}, {"cart", {1, 2}}};
    std::ofstream(dir.file("data.json")) << data.dump(2) << '\n';
    auto r = pbctl(
        {"states", "register", "gate", "--type", "feature", "--data", "@" + dir.file("data.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(get("/v1/states/gate")["data"], data);
    r = pbctl(
        {"states", "register", "gate2", "--type", "feature", "--data", dir.file("data.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(get("/v1/states/gate2")["data"], data);

    const json meta = {{"team", "infra"}, {"n", 7}};
    r = pbctl({"keys", "create", "--owner", "ci", "--metadata", "-", "-o", "json"},
              meta.dump() + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto id = json::parse(r.out).value("id", "");
    EXPECT_EQ(get("/v1/keys/" + id)["metadata"], meta);

    r = pbctl({"states", "update", "gate", "--replace", "--data", R"({"open":true})"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(get("/v1/states/gate")["data"], (json{{"open", true}}));
}

// Pins: an unreadable file is refused by pbctl (exit 2, naming param and path)
// before anything is sent.
TEST_F(JsonParamsServer, UnreadableFileIsRefusedBeforeSending) {
    const auto r = pbctl({"states", "register", "gate", "--type", "feature", "--data",
                          "@" + dir.file("missing.json")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "pbctl: --data: cannot read file " + dir.file("missing.json") +
                         ": No such file or directory\n");
    EXPECT_EQ(status_of(pbd.client()->Get("/v1/states/gate", bearer(admin))), 404);
}

}  // namespace
}  // namespace pb::test
