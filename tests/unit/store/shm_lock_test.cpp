// A store keeps SQLite's "-shm" DMS lock: without it, another process opening
// the database truncates the "-shm" under this one's mappings (SIGBUS).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::store {
namespace {

// Whether another process sees a lock on the DMS byte of `shm` (SQLite's
// unix VFS: byte 128 of the "-shm" file). F_GETLK only reports other
// processes' locks, hence the child.
bool dms_locked_seen_from_another_process(const std::string& shm) {
    const pid_t child = fork();
    if (child == 0) {
        const int fd = ::open(shm.c_str(), O_RDWR);
        struct flock lock {};
        lock.l_type = F_WRLCK;
        lock.l_whence = SEEK_SET;
        lock.l_start = 128;
        lock.l_len = 1;
        const bool locked = fd >= 0 && fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
        _exit(locked ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(SqliteShm, OpeningAStoreKeepsTheDmsLockOfItsConnections) {
    test::TempDir dir;
    // pbd's case: the store's own connections create the "-shm", then the
    // store maps its header for change_token().
    auto store = open_store(dir.file("pb.db"), {.pool_size = 2});
    store->transaction([](Connection& c) { c.exec("CREATE TABLE t (x INTEGER)"); });
    (void)store->change_token();
    EXPECT_TRUE(dms_locked_seen_from_another_process(dir.file("pb.db") + "-shm"));
}

}  // namespace
}  // namespace pb::store
