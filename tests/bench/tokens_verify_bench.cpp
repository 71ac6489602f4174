// In-process tokens.verify (with the revocation check) of a typical access
// token, per algorithm; and the bare signature primitive for comparison with
// `openssl speed`.
#include <benchmark/benchmark.h>

#include "common/core/base64.hpp"
#include "common/core/log.hpp"
#include "tests/unit/tokens/token_fixture.hpp"

namespace {

using pb::tokens::Alg;

struct Issued {
    std::unique_ptr<pb::test::TokenFixture> fixture;
    std::string token;
};

// A token of about 350 bytes: the usual claims plus a role and a few permissions.
Issued issue(Alg alg) {
    Issued out;
    out.fixture = std::make_unique<pb::test::TokenFixture>(
        pb::tokens::JoseKey::from_secret(Alg::HS256, std::string(32, 's')));
    out.fixture->clock.set(pb::SystemClock::instance().now());
    pb::tokens::IssueRequest r;
    r.sub = "user-1234567890";
    r.alg = alg;
    r.kid = alg == Alg::HS256 ? std::optional<std::string>("config") : std::nullopt;
    r.audience = {"api.example.com"};
    r.claims = {{"role", "admin"}, {"permissions", {"keys:read", "states:write", "bans:read"}}};
    out.token = out.fixture->tokens->issue(r, "bench")["access_token"].get<std::string>();
    // One revoked token so the revocation set is not trivially empty.
    out.fixture->tokens->revoke(std::nullopt, std::string("someone-else"), std::nullopt, "bench");
    return out;
}

void verify(benchmark::State& state, Alg alg) {
    pb::log::init("warn", "text");
    auto issued = issue(alg);
    for (auto _ : state) {
        auto check = issued.fixture->tokens->verify(issued.token, {});
        if (!check.valid) {
            state.SkipWithError(check.message.c_str());
            break;
        }
        benchmark::DoNotOptimize(check.valid);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::to_string(issued.token.size()) + " bytes");
}

void primitive(benchmark::State& state, Alg alg) {
    const auto key = pb::tokens::JoseKey::generate(alg);
    const std::string input(300, 'x');
    const auto sig = key.sign(input);
    for (auto _ : state) {
        benchmark::DoNotOptimize(key.verify(input, sig));
    }
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(verify, HS256, Alg::HS256);
BENCHMARK_CAPTURE(verify, ES256, Alg::ES256);
BENCHMARK_CAPTURE(verify, RS256, Alg::RS256);
BENCHMARK_CAPTURE(verify, EdDSA, Alg::EdDSA);
BENCHMARK_CAPTURE(primitive, HS256, Alg::HS256);
BENCHMARK_CAPTURE(primitive, ES256, Alg::ES256);
BENCHMARK_CAPTURE(primitive, RS256, Alg::RS256);
BENCHMARK_CAPTURE(primitive, EdDSA, Alg::EdDSA);

}  // namespace

BENCHMARK_MAIN();
