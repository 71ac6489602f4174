#include <fstream>

#include <gtest/gtest.h>

#include "common/actions/catalog.hpp"
#include "common/core/error.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/service.hpp"
#include "common/runtime/services.hpp"
#include "common/secrets/backend.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::runtime {
namespace {

// What a handler reaches through ctx.service<T>() is the service pbctl and pbd
// opened, for every type the domains' handlers ask for.
TEST(ServiceRegistryTest, ServicesHandsEachHandlerTheServiceItOpened) {
    test::TempDir dir;
    std::ofstream(dir.file("pb.yaml")) << "";
    ConfigInputs in;
    in.file = dir.file("pb.yaml");
    in.flags["db.url"] = dir.file("pb.db");
    ManualClock clock;
    auto services = Services::open(Config::load(in), clock, {.pool_size = 1});
    ops::ServiceRegistry& registry = *services;
    const ops::Caller caller{"local:test", {"admin"}};
    const ops::Context ctx{registry, caller};

    EXPECT_EQ(&ctx.service<store::Store>(), &services->store());
    EXPECT_EQ(&ctx.service<keys::KeyService>(), &services->keys());
    EXPECT_EQ(&ctx.service<tokens::TokenService>(), &services->tokens());
    EXPECT_EQ(&ctx.service<limits::BanService>(), &services->bans());
    EXPECT_EQ(&ctx.service<limits::LimitService>(), &services->limits());
    EXPECT_EQ(&ctx.service<states::StateService>(), &services->states());
    EXPECT_EQ(&ctx.service<actions::Catalog>(), &services->actions());
    EXPECT_EQ(&ctx.service<secrets::Backend>(), &services->secrets());
    EXPECT_EQ(&ctx.service<Services>(), services.get());
    EXPECT_EQ(&ctx.clock(), &clock);
}

// A registry asked for a service it does not have: an internal error (a wiring
// bug), not a null reference.
TEST(ServiceRegistryTest, AServiceTheRegistryLacksIsAnInternalError) {
    struct Only : ops::ServiceRegistry {
        int value = 7;
        const Clock& clock() const override { return SystemClock::instance(); }
        void* find(std::type_index type) override { return type == typeid(int) ? &value : nullptr; }
    } registry;
    EXPECT_EQ(registry.service<int>(), 7);
    try {
        registry.service<double>();
        FAIL() << "expected Error(internal)";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::internal);
    }
}

}  // namespace
}  // namespace pb::runtime
