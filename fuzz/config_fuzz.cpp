// Config loading (core/config): the bytes as pb.yaml, layered over the
// defaults, then every key read back through its typed accessor and shown.
// A bad file or value is Error(invalid_argument); anything else is a finding.
#include "common/core/config.hpp"
#include "common/core/error.hpp"
#include "fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto file = pb::fuzz::write_temp("pb.yaml", pb::fuzz::as_text(data, size));
    try {
        pb::ConfigInputs inputs;
        inputs.file = file.string();
        const auto config = pb::Config::load(inputs);
        for (const auto& key : pb::config_keys()) {
            switch (key.type) {
                case pb::ConfigType::integer:
                    (void)config.get_int(key.key);
                    break;
                case pb::ConfigType::boolean:
                    (void)config.get_bool(key.key);
                    break;
                case pb::ConfigType::duration:
                    (void)config.get_duration_ms(key.key);
                    break;
                case pb::ConfigType::string:
                    (void)config.get(key.key);
                    break;
            }
        }
        (void)config.show().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } catch (const pb::Error&) {
    }
    return 0;
}
