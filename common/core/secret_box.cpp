#include "common/core/secret_box.hpp"

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/core/base64.hpp"
#include "common/core/crypto.hpp"
#include "common/core/error.hpp"
#include "common/core/private_file.hpp"

namespace pb {
namespace {

constexpr std::size_t k_key_size = 32;
constexpr std::size_t k_nonce_size = 12;
constexpr std::size_t k_tag_size = 16;
constexpr std::string_view k_version = "v1:";

struct CipherCtx {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

const EVP_CIPHER* aes_gcm() {
    static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) {
        throw Error(ErrorCode::internal, "OpenSSL has no AES-256-GCM");
    }
    return c;
}

// Writes a new random key to a temporary file beside `key_file`, syncs it and
// links it to `key_file`: the name appears only with the whole key behind it.
// A process killed meanwhile leaves a stray temporary file, never an empty key
// file that every later start would refuse; of several first starts at once,
// exactly one links (the others get EEXIST and read the winner's key). The
// folder is synced so the name outlives a power loss like the rows sealed
// under it.
void create_key_file(const std::string& key_file) {
    unsigned char raw[k_key_size];
    crypto::random_bytes(raw, sizeof raw);
    const auto text =
        base64_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw)) + "\n";
    OPENSSL_cleanse(raw, sizeof raw);
    unsigned char tag[8];
    crypto::random_bytes(tag, sizeof tag);
    const auto tmp = key_file + ".tmp-" + crypto::to_hex(tag, sizeof tag);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw Error(ErrorCode::unavailable, "cannot create master key file " + key_file);
    }
    const bool written =
        ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::fsync(fd) == 0;
    ::close(fd);
    const int linked = written ? ::link(tmp.c_str(), key_file.c_str()) : -1;
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (!written) {
        throw Error(ErrorCode::unavailable, "cannot write master key file " + key_file);
    }
    if (linked != 0 && link_errno != EEXIST) {
        throw Error(ErrorCode::unavailable, "cannot create master key file " + key_file);
    }
    auto dir = std::filesystem::path(key_file).parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace

SecretBox::SecretBox(std::string key) : m_key(std::move(key)) {
    if (m_key.size() != k_key_size) {
        throw Error(ErrorCode::invalid_argument, "master key must be 32 bytes");
    }
}

SecretBox::~SecretBox() {
    OPENSSL_cleanse(m_key.data(), m_key.size());
}

std::unique_ptr<SecretBox> SecretBox::open(const std::string& key_file, FileModeCheck check) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(key_file, ec)) {
        require_parent_folder(key_file, "master key file");
        create_key_file(key_file);
    }
    struct stat st {};
    if (::stat(key_file.c_str(), &st) != 0) {
        throw Error(ErrorCode::unavailable, "cannot read master key file " + key_file);
    }
    check_private_mode(key_file, "master key file", Audience::owner_only, check);
    std::ifstream in(key_file);
    std::string text;
    std::getline(in, text);
    auto key = base64_decode(text);
    if (!key || key->size() != k_key_size) {
        throw Error(ErrorCode::invalid_argument,
                    "master key file " + key_file + " does not hold a base64 32-byte key");
    }
    return std::make_unique<SecretBox>(std::move(*key));
}

std::string SecretBox::derive_key(std::string_view purpose) const {
    const auto d = crypto::hmac_sha256(m_key, "pb/" + std::string(purpose));
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string SecretBox::seal(std::string_view plaintext, std::string_view context) const {
    std::string out(k_nonce_size + plaintext.size() + k_tag_size, '\0');
    auto* buf = reinterpret_cast<unsigned char*>(out.data());
    crypto::random_bytes(buf, k_nonce_size);
    CipherCtx c;
    int len = 0;
    if (c.ctx == nullptr ||
        EVP_EncryptInit_ex2(c.ctx, aes_gcm(), reinterpret_cast<const unsigned char*>(m_key.data()),
                            buf, nullptr) != 1 ||
        EVP_EncryptUpdate(c.ctx, nullptr, &len,
                          reinterpret_cast<const unsigned char*>(context.data()),
                          static_cast<int>(context.size())) != 1 ||
        EVP_EncryptUpdate(c.ctx, buf + k_nonce_size, &len,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(c.ctx, buf + k_nonce_size + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, k_tag_size,
                            buf + k_nonce_size + plaintext.size()) != 1) {
        throw Error(ErrorCode::internal, "encryption failed");
    }
    return std::string(k_version) + base64_encode(out);
}

std::string SecretBox::open_sealed(std::string_view sealed, std::string_view context) const {
    if (!sealed.starts_with(k_version)) {
        throw Error(ErrorCode::internal, "sealed value has an unknown format");
    }
    const auto raw = base64_decode(sealed.substr(k_version.size()));
    if (!raw || raw->size() < k_nonce_size + k_tag_size) {
        throw Error(ErrorCode::internal, "sealed value is damaged");
    }
    const auto* buf = reinterpret_cast<const unsigned char*>(raw->data());
    const auto n = raw->size() - k_nonce_size - k_tag_size;
    std::string out(n, '\0');
    CipherCtx c;
    int len = 0;
    const bool ok =
        c.ctx != nullptr &&
        EVP_DecryptInit_ex2(c.ctx, aes_gcm(), reinterpret_cast<const unsigned char*>(m_key.data()),
                            buf, nullptr) == 1 &&
        EVP_DecryptUpdate(c.ctx, nullptr, &len,
                          reinterpret_cast<const unsigned char*>(context.data()),
                          static_cast<int>(context.size())) == 1 &&
        EVP_DecryptUpdate(c.ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                          buf + k_nonce_size, static_cast<int>(n)) == 1 &&
        EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, k_tag_size,
                            const_cast<unsigned char*>(buf + k_nonce_size + n)) == 1 &&
        EVP_DecryptFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
    if (!ok) {
        OPENSSL_cleanse(out.data(), out.size());
        throw Error(ErrorCode::internal,
                    "sealed value does not open with this master key (wrong key file?)");
    }
    return out;
}

}  // namespace pb
