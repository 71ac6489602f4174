#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// The document `pbctl openapi` prints (offline: no database, no server).
json pbctl_document(const TempDir& dir) {
    const auto r = run({pbctl_path(), "openapi"}, {{"PB_DB", dir.file("pbctl.db")}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto doc = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.out.substr(0, 200);
    return doc;
}

// "METHOD /path" of every operation of the document.
std::set<std::string> documented(const json& doc) {
    std::set<std::string> out;
    for (const auto& [path, item] : doc["paths"].items()) {
        for (const auto& [method, o] : item.items()) {
            std::string upper = method;
            for (auto& c : upper) {
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            out.insert(upper + " " + path);
        }
    }
    return out;
}

// The routes pbd's router answers (`pbd --routes`), a tail capture
// "{path...}" written as OpenAPI writes it, "{path}".
std::set<std::string> router_routes() {
    const auto r = run({pbd_path(), "--routes"}, {});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        if (const auto dots = line.find("...}"); dots != std::string::npos) {
            line.erase(dots, 3);
        }
        out.insert(line);
    }
    return out;
}

std::string listed(const std::set<std::string>& routes) {
    std::string out;
    for (const auto& r : routes) {
        out += "\n  " + r;
    }
    return out;
}

// Pins: the routes pbd answers and the operations /openapi.json describes are
// the same set: a route added to the router or the table without its
// description, or a description of a route pbd does not answer, fails here.
TEST(OpenApiRoutes, RouterAndDocumentHaveTheSameRoutes) {
    TempDir dir;
    const auto doc = documented(pbctl_document(dir));
    const auto router = router_routes();
    ASSERT_GT(router.size(), 60U);
    std::set<std::string> undocumented, unserved;
    for (const auto& r : router) {
        if (!doc.contains(r)) {
            undocumented.insert(r);
        }
    }
    for (const auto& r : doc) {
        if (!router.contains(r)) {
            unserved.insert(r);
        }
    }
    EXPECT_TRUE(undocumented.empty())
        << "routes pbd answers, missing from the document:" << listed(undocumented);
    EXPECT_TRUE(unserved.empty()) << "documented routes pbd does not answer:" << listed(unserved);
}

// Pins: every documented route is served by a real pbd: asked without a
// credential and with placeholder captures, none answers "no route" (404 with
// details.path) or 405; /ws asks for a WebSocket upgrade (426).
TEST(OpenApiRoutes, EveryDocumentedRouteIsServed) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto client = pbd.client();
    for (const auto& route : documented(pbctl_document(dir))) {
        SCOPED_TRACE(route);
        const auto space = route.find(' ');
        const auto method = route.substr(0, space);
        auto path = route.substr(space + 1);
        for (auto open = path.find('{'); open != std::string::npos; open = path.find('{')) {
            path.replace(open, path.find('}', open) - open + 1, "x");
        }
        httplib::Result res{nullptr, httplib::Error::Unknown};
        if (method == "GET") {
            res = client->Get(path);
        } else if (method == "DELETE") {
            res = client->Delete(path);
        } else if (method == "POST") {
            res = client->Post(path, "{}", "application/json");
        } else if (method == "PUT") {
            res = client->Put(path, "{}", "application/json");
        } else if (method == "PATCH") {
            res = client->Patch(path, "{}", "application/json");
        } else if (method == "HEAD") {  // CrowdSec's /v1/decisions probes
            res = client->Head(path);
        } else {
            ADD_FAILURE() << "unexpected method";
            continue;
        }
        ASSERT_TRUE(res);
        EXPECT_NE(res->status, 405) << res->body;
        const auto body = body_json(res);
        const bool no_route = res->status == 404 && body.is_object() && body.contains("path");
        EXPECT_FALSE(no_route) << res->body;
        if (path == "/ws") {
            EXPECT_EQ(res->status, 426);
        }
    }
}

// Pins: GET /openapi.json answers without a credential, as JSON, the very
// document `pbctl openapi` prints offline; it answers GET only.
TEST(OpenApiHttp, ServedDocumentIsPbctlsDocument) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto client = pbd.client();
    const auto res = client->Get("/openapi.json");
    ASSERT_EQ(status_of(res), 200) << (res ? res->body : "");
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    const auto served = body_json(res);
    ASSERT_TRUE(served.is_object());
    EXPECT_EQ(served["openapi"], "3.1.0");
    EXPECT_EQ(served, pbctl_document(dir));

    const auto post = client->Post("/openapi.json", "{}", "application/json");
    EXPECT_EQ(status_of(post), 405);
    EXPECT_EQ(post->get_header_value("Allow"), "GET");
}

// Pins: /openapi.json needs no credential but is no way around a ban: a
// banned address gets 403 banned there too, and no document.
TEST(OpenApiHttp, BannedAddressGetsNoDocument) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto client = pbd.client();
    const auto ban = client->Post("/v1/bans", bearer(pbd.bootstrap_key()),
                                  R"({"target":"127.0.0.1","force":true})", "application/json");
    ASSERT_EQ(status_of(ban), 201) << (ban ? ban->body : "");
    const auto res = client->Get("/openapi.json");
    ASSERT_EQ(status_of(res), 403) << (res ? res->body.substr(0, 200) : "");
    EXPECT_EQ(body_json(res)["code"], "banned");
}

}  // namespace
}  // namespace pb::test
