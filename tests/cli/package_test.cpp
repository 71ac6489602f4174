// The Debian package: CPack builds it from this build, it unpacks into a
// temporary root with everything an installed pb needs, the unpacked pbctl and
// pbd run, and lintian finds nothing (overrides in packaging/ say why).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using pb::test::run;
namespace fs = std::filesystem;

class DebianPackage : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        s_dir = new pb::test::TempDir();
        const fs::path build = fs::path(PB_BIN_DIR).parent_path();
        const auto r = run({"/usr/bin/cpack", "--config", (build / "CPackConfig.cmake").string(),
                            "-B", s_dir->file("out")},
                           {}, "", std::chrono::minutes(5));
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        s_deb = s_dir->file("out/pb_0.1.0_amd64.deb");
        ASSERT_TRUE(fs::exists(s_deb)) << r.out;
        const auto x = run({"/usr/bin/dpkg-deb", "-x", s_deb, s_dir->file("root")}, {});
        ASSERT_EQ(x.exit_code, 0) << x.err;
    }
    static void TearDownTestSuite() {
        delete s_dir;
        s_dir = nullptr;
    }
    static std::string root(const std::string& path) { return s_dir->file("root") + path; }

    static inline pb::test::TempDir* s_dir = nullptr;
    static inline std::string s_deb;
};

TEST_F(DebianPackage, InstallsBinariesDocsCompletionsActionsAndTheService) {
    for (const std::string path :
         {"/usr/bin/pbctl", "/usr/bin/pbd", "/usr/share/man/man1/pbctl.1.gz",
          "/usr/share/man/man8/pbd.8.gz", "/usr/share/man/man5/pb.yaml.5.gz",
          "/usr/share/bash-completion/completions/pbctl",
          "/usr/share/zsh/vendor-completions/_pbctl",
          "/usr/share/fish/vendor_completions.d/pbctl.fish", "/usr/share/pb/actions/README.md",
          "/usr/share/pb/actions/backup-db.yaml", "/usr/share/pb/grafana/pb-dashboard.json",
          "/etc/pb/pb.yaml", "/lib/systemd/system/pbd.service", "/usr/lib/sysusers.d/pb.conf",
          "/usr/lib/tmpfiles.d/pb.conf", "/usr/share/doc/pb/copyright"}) {
        EXPECT_TRUE(fs::exists(root(path))) << path;
    }
    const auto unit = pb::test::read_file(root("/lib/systemd/system/pbd.service"));
    for (const std::string line : {"Type=notify", "User=pb", "NoNewPrivileges=yes",
                                   "ProtectSystem=strict", "PrivateTmp=yes"}) {
        EXPECT_NE(unit.find(line + "\n"), std::string::npos) << line;
    }
    const auto conffiles = run({"/usr/bin/dpkg-deb", "-I", s_deb, "conffiles"}, {});
    EXPECT_EQ(conffiles.out, "/etc/pb/pb.yaml\n");
}

TEST_F(DebianPackage, UnpackedProgramsRunAndReadTheShippedConfig) {
    const auto version = run({root("/usr/bin/pbctl"), "--version"}, {});
    EXPECT_EQ(version.exit_code, 0) << version.err;
    EXPECT_EQ(version.out.rfind("pbctl 0.1.0", 0), 0u) << version.out;
    const auto pbd = run({root("/usr/bin/pbd"), "--version"}, {});
    EXPECT_EQ(pbd.out.rfind("pbd 0.1.0", 0), 0u) << pbd.out;
    // The default /etc/pb/pb.yaml is a valid configuration. --check-config also
    // checks the files it names, whose folder (/var/lib/pb) the package makes
    // only when installed: they are pointed at an existing folder here.
    const auto state = root("/usr/share/pb");
    const auto check = run({root("/usr/bin/pbd"), "--config", root("/etc/pb/pb.yaml"), "--db",
                            state + "/pb.db", "--check-config"},
                           {{"PB_MASTER_KEY_FILE", state + "/master.key"}});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    EXPECT_EQ(check.out, "OK\n");
}

TEST_F(DebianPackage, LintianFindsNothing) {
    const auto r = run({"/usr/bin/lintian", "--fail-on", "error,warning", "--info", s_deb}, {}, "",
                       std::chrono::minutes(3));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find("E: "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("W: "), std::string::npos) << r.out;
}

}  // namespace
