// Crash consistency: pbd killed with SIGKILL while writers write through it
// loses no acknowledged write, on SQLite and on PostgreSQL.
//
// Each round starts pbd on the same database, lets several writer threads
// write (crash_writer.hpp) and kills pbd at a random moment; the next start
// checks the SQLite file (PRAGMA integrity_check, foreign_key_check) and,
// through pbd, every write acknowledged since the last check (crash_check.hpp);
// after the last round everything is checked again from the start.
//
// make test runs 5 rounds per store; make crash-test 20 or more. Environment:
// PB_CRASH_ROUNDS (kills per store), PB_CRASH_SEED (the seed printed by an
// earlier run, for the same kill moments), PB_CRASH_WRITERS (threads).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/crash_check.hpp"
#include "tests/daemon/crash_writer.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/test_db.hpp"

namespace pb::test {
namespace {

using namespace pb::test::crash;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::stoull(v) : fallback;
}

// The longest a round writes before the kill; the moment is uniform below it.
constexpr int k_max_kill_ms = 1000;

// PRAGMA integrity_check and foreign_key_check by the sqlite3 program: "" when
// both are clean, else what they said.
std::string sqlite_damage(const std::string& path) {
    const auto r =
        run({"/usr/bin/sqlite3", path, "PRAGMA integrity_check; PRAGMA foreign_key_check;"}, {}, "",
            std::chrono::seconds(60));
    return r.exit_code == 0 && r.out == "ok\n"
               ? std::string()
               : "exit " + std::to_string(r.exit_code) + ": " + r.out + r.err;
}

class DaemonCrash : public ::testing::TestWithParam<Backend> {};

// Pins: after SIGKILL at random moments under concurrent writers, every
// acknowledged key verifies, ban holds, secret version reads back with its
// value and state is at least at its acknowledged version with that version's
// data; nothing appears beyond the one unanswered write per writer; the
// SQLite file passes integrity_check after every kill.
TEST_P(DaemonCrash, SigkillLosesNoAcknowledgedWrite) {
    const auto rounds = static_cast<int>(env_number("PB_CRASH_ROUNDS", 5));
    const auto writers = static_cast<int>(env_number("PB_CRASH_WRITERS", 4));
    const auto seed = env_number("PB_CRASH_SEED", std::random_device{}());
    const auto store = GetParam() == Backend::sqlite ? "SQLite" : "PostgreSQL";
    std::cout << "crash test on " << store << ": " << rounds << " rounds, " << writers
              << " writers, seed " << seed << " (PB_CRASH_SEED=" << seed << " repeats it)"
              << std::endl;
    RecordProperty("seed", std::to_string(seed));
    ASSERT_GT(rounds, 0);
    ASSERT_GT(writers, 0);
    ASSERT_LT(writers, 256);  // a writer's bans are 10.<writer>.x.y

    TempDir dir;
    TestDb db(GetParam());
    const DaemonOptions options{.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")},
                                        {"PB_LIMITS_IP_RATE", "off"},
                                        {"PB_LIMITS_USER_RATE", "off"},
                                        {"PB_LIMITS_KEY_RATE", "off"},
                                        {"PB_SECRETS_MAX_VERSIONS", "1000000"}},
                                .db = db.url()};
    std::mt19937_64 rng(seed);
    std::vector<Ledger> ledgers;
    std::vector<Checked> checked(writers);
    for (int w = 0; w < writers; ++w) {
        ledgers.emplace_back(w);
    }
    std::string admin;

    // Starts pbd on the database and checks what the ledgers hold (what is not
    // yet checked, or all with `from_start`); null (failures added) when the
    // test must stop.
    auto restart_and_check = [&](int round, bool from_start) -> std::unique_ptr<RunningDaemon> {
        auto pbd = std::make_unique<RunningDaemon>(dir, options);
        if (pbd->port() == 0) {
            ADD_FAILURE() << "round " << round << ": pbd did not start after SIGKILL; seed "
                          << seed;
            return nullptr;
        }
        if (round == 1) {
            admin = pbd->bootstrap_key();
            EXPECT_FALSE(admin.empty()) << pbd->out() << pbd->err();
            return admin.empty() ? nullptr : std::move(pbd);
        }
        if (GetParam() == Backend::sqlite) {
            const auto damage = sqlite_damage(pbd->db());
            EXPECT_EQ(damage, "") << "round " << round << ", seed " << seed;
        }
        auto c = pbd->client();
        c->set_keep_alive(true);
        bool clean = true;
        for (int w = 0; w < writers; ++w) {
            if (from_start) {
                checked[w] = {};
            }
            for (const auto& p : check_ledger(ledgers[w], checked[w], *c, admin)) {
                ADD_FAILURE() << "after kill " << round - 1 << " (seed " << seed << "): " << p;
                clean = false;
            }
            for (const auto& u : ledgers[w].unexpected) {
                ADD_FAILURE() << "round " << round - 1 << ": unexpected answer: " << u;
                clean = false;
            }
            ledgers[w].unexpected.clear();
        }
        return clean ? std::move(pbd) : nullptr;
    };

    for (int round = 1; round <= rounds; ++round) {
        auto pbd = restart_and_check(round, false);
        if (!pbd) {
            return;
        }
        std::atomic<bool> stop{false};
        std::vector<std::thread> threads;
        for (int w = 0; w < writers; ++w) {
            threads.emplace_back(write_until_pbd_dies, std::ref(ledgers[w]), pbd->port(),
                                 std::cref(admin), rng(), std::cref(stop));
        }
        const auto kill_after = std::chrono::milliseconds(rng() % (k_max_kill_ms + 1));
        std::this_thread::sleep_for(kill_after);
        const auto status = pbd->process().signal_and_wait(SIGKILL, std::chrono::seconds(10));
        stop = true;
        for (auto& t : threads) {
            t.join();
        }
        ASSERT_EQ(status, 128 + SIGKILL) << "pbd did not die of SIGKILL in round " << round;
    }
    // The last kill's restart, a cold check of the file first (pbd not running:
    // sqlite3 itself recovers the WAL), then everything from the first round.
    if (GetParam() == Backend::sqlite) {
        EXPECT_EQ(sqlite_damage(db.url()), "") << "after the last kill, seed " << seed;
    }
    auto pbd = restart_and_check(rounds + 1, true);

    std::array<std::int64_t, 4> acked{}, unanswered{};
    for (const auto& l : ledgers) {
        for (std::size_t k = 0; k < acked.size(); ++k) {
            acked[k] += l.acked[k];
            unanswered[k] += l.unanswered[k];
        }
    }
    std::ostringstream summary;
    summary << "crash test on " << store << ", seed " << seed << ": " << rounds
            << " SIGKILLs; acknowledged";
    for (const auto k : k_kinds) {
        summary << " " << kind_name(k) << " " << acked[static_cast<std::size_t>(k)] << ",";
    }
    summary << " unanswered at the kills";
    for (const auto k : k_kinds) {
        summary << " " << kind_name(k) << " " << unanswered[static_cast<std::size_t>(k)];
    }
    summary << "; " << (pbd && !HasFailure() ? "none lost" : "FAILED");
    std::cout << summary.str() << std::endl;
    for (const auto k : k_kinds) {
        // A round that acknowledged nothing proves nothing.
        EXPECT_GT(acked[static_cast<std::size_t>(k)], 0) << kind_name(k);
    }
}

PB_INSTANTIATE_BACKENDS(DaemonCrash);

}  // namespace
}  // namespace pb::test
