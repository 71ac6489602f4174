#include "common/docs/openapi.hpp"

#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/core/build_info.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

class OpenApiCli : public PbctlTest {};

// Pins: `pbctl openapi` prints the OpenAPI 3.1 document made from the op
// table, offline: with a database path whose folder does not exist and no
// server, it neither opens nor creates anything.
TEST_F(OpenApiCli, PrintsTheDocumentOffline) {
    env["PB_DB"] = dir.file("missing/pb.db");
    env["PB_SERVER"] = "http://127.0.0.1:9";
    const auto r = pbctl({"openapi"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto doc = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(doc.is_discarded());
    EXPECT_EQ(doc["openapi"], "3.1.0");
    EXPECT_EQ(doc["info"]["version"], std::string(build_info::version()));
    EXPECT_EQ(doc, docs::openapi_document(runtime::op_table(), build_info::version()));
    EXPECT_FALSE(std::filesystem::exists(dir.file("missing")));
}

// Pins: every op of the table is in the document under its route, with its
// operationId, its success status and its examples; named row schemas are
// components referenced by $ref.
TEST_F(OpenApiCli, EveryOpIsDocumentedWithItsContract) {
    const auto doc = docs::openapi_document(runtime::op_table(), "test");
    for (const auto& op : runtime::op_table().all()) {
        if (op.websocket_only()) {
            continue;  // no route: /asyncapi.json's (WsOpsTable)
        }
        SCOPED_TRACE(op.name);
        std::string path = op.route.path;
        if (const auto dots = path.find("...}"); dots != std::string::npos) {
            path.erase(dots, 3);
        }
        std::string method = op.route.method;
        for (auto& c : method) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        ASSERT_TRUE(doc["paths"].contains(path));
        ASSERT_TRUE(doc["paths"][path].contains(method));
        const auto& o = doc["paths"][path][method];
        EXPECT_EQ(o["operationId"], op.name);
        const auto ok = std::to_string(op.route.success_status);
        ASSERT_TRUE(o["responses"].contains(ok));
        EXPECT_TRUE(o["responses"].contains("400"));
        EXPECT_EQ(o["responses"][ok]["content"]["application/json"]["examples"].size(),
                  op.examples.size());
        EXPECT_EQ(o["security"].empty(), op.permission.empty());
        for (const auto code : op.errors) {
            EXPECT_TRUE(o["responses"].contains(std::to_string(http_status(code))))
                << to_string(code);
        }
    }
    EXPECT_TRUE(doc["components"]["schemas"].contains("ApiKey"));
    EXPECT_TRUE(doc["components"]["schemas"].contains("Problem"));
    EXPECT_EQ(doc["paths"]["/v1/keys/{id}"]["get"]["responses"]["200"]["content"]
                 ["application/json"]["schema"]["$ref"],
              "#/components/schemas/ApiKey");
}

// Pins: GET and DELETE ops take their arguments in the query string, the
// others in a JSON body; {captures} are path parameters, a {path...} tail
// capture one that keeps its slashes.
TEST_F(OpenApiCli, ArgumentsGoWhereClientsSendThem) {
    const auto doc = docs::openapi_document(runtime::op_table(), "test");
    const auto& list = doc["paths"]["/v1/keys"]["get"];
    EXPECT_FALSE(list.contains("requestBody"));
    std::set<std::string> query;
    for (const auto& p : list["parameters"]) {
        EXPECT_EQ(p["in"], "query");
        query.insert(p["name"].get<std::string>());
    }
    EXPECT_TRUE(query.contains("owner") && query.contains("limit"));
    const auto& create = doc["paths"]["/v1/keys"]["post"];
    EXPECT_FALSE(create.contains("parameters"));
    const auto& body = create["requestBody"]["content"]["application/json"]["schema"];
    EXPECT_EQ(body["required"], json::array({"owner"}));
    EXPECT_EQ(body["additionalProperties"], false);
    const auto& put = doc["paths"]["/v1/secrets/{path}"]["put"];
    ASSERT_EQ(put["parameters"].size(), 1U);
    EXPECT_EQ(put["parameters"][0]["in"], "path");
    EXPECT_NE(put["parameters"][0]["description"].get<std::string>().find("slashes"),
              std::string::npos);
    EXPECT_TRUE(
        put["requestBody"]["content"]["application/json"]["schema"]["properties"].contains("data"));
}

// Pins: the help lists the openapi command.
TEST_F(OpenApiCli, HelpListsIt) {
    const auto out = ok({"--help"});
    EXPECT_NE(out.find("openapi"), std::string::npos) << out;
}

}  // namespace
}  // namespace pb::cli::test
