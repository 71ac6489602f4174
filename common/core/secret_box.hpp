#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/core/private_file.hpp"

namespace pb {

// Encryption at rest: AES-256-GCM under a 32-byte master key. Sealed text is
// "v1:" + base64(nonce || ciphertext || tag); `context` is bound as additional
// data so a sealed value cannot be moved to another row or purpose.
class SecretBox {
  public:
    // Loads the master key file, creating it (mode 0600) on first use; its
    // folder must exist. Throws Error(unavailable) if it cannot be read or made
    // or others may read it (unless FileModeCheck::allow_insecure),
    // Error(invalid_argument) if it is malformed.
    static std::unique_ptr<SecretBox> open(const std::string& key_file,
                                           FileModeCheck check = FileModeCheck::strict);
    // For tests: a box over the given 32 bytes.
    explicit SecretBox(std::string key);
    ~SecretBox();

    std::string seal(std::string_view plaintext, std::string_view context) const;
    // Throws Error(internal) when the text was not sealed by this key for this context.
    std::string open_sealed(std::string_view sealed, std::string_view context) const;

    // A 32-byte key for one purpose ("audit.chain"), derived from the master
    // key (HMAC-SHA256(master, "pb/" + purpose)): the master key itself never
    // signs, and keys of different purposes are independent.
    std::string derive_key(std::string_view purpose) const;

  private:
    std::string m_key;
};

}  // namespace pb
