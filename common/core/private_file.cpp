#include "common/core/private_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/error.hpp"

namespace pb {
namespace {

std::string octal(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

}  // namespace

void check_private_mode(const std::filesystem::path& path, std::string_view what, Audience audience,
                        FileModeCheck check) {
    if (check == FileModeCheck::allow_insecure) {
        return;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return;  // absent: created private; unreadable: opening it says so
    }
    const mode_t forbidden = audience == Audience::owner_only ? 0077 : 0007;
    if ((st.st_mode & forbidden) == 0) {
        return;
    }
    const std::string who =
        audience == Audience::owner_only ? "users other than its owner" : "every user on the host";
    const std::string fix = audience == Audience::owner_only ? "chmod 600 " : "chmod o-rwx ";
    throw Error(ErrorCode::unavailable,
                std::string(what) + " " + path.string() + " is open to " + who + " (mode " +
                    octal(st.st_mode) + "): " + fix + path.string() +
                    ", or pass --allow-insecure-permissions "
                    "(security.allow_insecure_permissions) to accept it",
                {{"path", path.string()}, {"mode", octal(st.st_mode)}});
}

mode_t private_file_mode(const std::filesystem::path& dir) {
    struct stat st {};
    const auto d = dir.empty() ? std::filesystem::path(".") : dir;
    if (::stat(d.c_str(), &st) != 0) {
        return 0600;
    }
    const bool shared_with_group_only = (st.st_mode & 0050) == 0050 && (st.st_mode & 0007) == 0;
    return shared_with_group_only && st.st_gid == ::getegid() ? 0640 : 0600;
}

void write_new_private_file(const std::filesystem::path& path, std::string_view text, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        const int err = errno;
        throw Error(err == EEXIST ? ErrorCode::conflict : ErrorCode::unavailable,
                    "cannot create " + path.string() + ": " +
                        (err == EEXIST ? std::string("it already exists") : std::strerror(err)),
                    {{"path", path.string()}});
    }
    // The umask may have taken bits the mode asks for (0640's group read).
    bool ok = ::fchmod(fd, mode) == 0;
    std::size_t done = 0;
    while (ok && done < text.size()) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        done += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    ok = ok && ::fsync(fd) == 0;
    const int err = errno;
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
        ::unlink(path.c_str());
        throw Error(ErrorCode::unavailable,
                    "cannot write " + path.string() + ": " + std::strerror(err),
                    {{"path", path.string()}});
    }
}

void create_private_folders(const std::filesystem::path& dir) {
    if (dir.empty()) {
        return;
    }
    std::filesystem::path at;
    for (const auto& part : dir) {
        at /= part;
        if (::mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) {
            throw Error(ErrorCode::unavailable,
                        "cannot create the folder " + at.string() + ": " + std::strerror(errno),
                        {{"path", at.string()}});
        }
    }
}

void require_parent_folder(const std::filesystem::path& path, std::string_view what) {
    const auto parent = path.parent_path();
    std::error_code ec;
    if (parent.empty() || std::filesystem::is_directory(parent, ec)) {
        return;
    }
    throw Error(ErrorCode::unavailable,
                std::string(what) + " " + path.string() + ": its folder " + parent.string() +
                    " does not exist (pb creates only its default folders; create it, or fix "
                    "the path)",
                {{"path", path.string()}});
}

}  // namespace pb
