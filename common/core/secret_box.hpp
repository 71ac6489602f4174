#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace pb {

// Encryption at rest: AES-256-GCM under a 32-byte master key. Sealed text is
// "v1:" + base64(nonce || ciphertext || tag); `context` is bound as additional
// data so a sealed value cannot be moved to another row or purpose.
class SecretBox {
  public:
    // Loads the master key file, creating it (mode 0600, in a folder created as
    // 0700) on first use. Throws Error(unavailable) if it cannot be read or
    // made, Error(invalid_argument) if it is malformed or readable by others.
    static std::unique_ptr<SecretBox> open(const std::string& key_file);
    // For tests: a box over the given 32 bytes.
    explicit SecretBox(std::string key);
    ~SecretBox();

    std::string seal(std::string_view plaintext, std::string_view context) const;
    // Throws Error(internal) when the text was not sealed by this key for this context.
    std::string open_sealed(std::string_view sealed, std::string_view context) const;

  private:
    std::string m_key;
};

}  // namespace pb
