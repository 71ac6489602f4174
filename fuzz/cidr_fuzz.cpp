// Address and CIDR parsing (limits/cidr): each text that parses must print to
// a canonical text that parses back to the same value, and a range must hold
// its own first and last address; a CidrIndex over the parsed ranges answers
// for them.
#include <vector>

#include "common/core/error.hpp"
#include "common/limits/cidr.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using namespace pb::limits;

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto text = pb::fuzz::as_text(data, size);
    std::vector<CidrIndex::Entry> entries;
    // One candidate per line.
    while (!text.empty() && entries.size() < 64) {
        const auto [line, rest] = pb::fuzz::split_at(text, '\n');
        text = rest;
        if (const auto a = parse_ip(line)) {
            const auto canonical = to_string(*a);
            const auto again = parse_ip(canonical);
            check(again && *again == *a);
            check(parse_ip_strict(canonical) == *a);
        } else {
            try {
                (void)parse_ip_strict(line);
                check(false);  // parse_ip refused it: the strict form must too
            } catch (const pb::Error&) {
            }
        }
        try {
            const auto r = parse_cidr(line);
            check(r.first <= r.last);
            check(r.contains(IpAddress{r.family, r.first}) &&
                  r.contains(IpAddress{r.family, r.last}));
            const auto canonical = to_string(r);
            const auto again = parse_cidr(canonical);
            check(again.family == r.family && again.first == r.first && again.last == r.last &&
                  again.prefix == r.prefix);
            entries.push_back({r, static_cast<std::uint32_t>(entries.size())});
        } catch (const pb::Error&) {
        }
    }
    const auto ranges = entries;
    const CidrIndex index(std::move(entries));
    for (const auto& e : ranges) {
        // Some range holding the first address holds it: at least this one.
        check(
            index.find(IpAddress{e.range.family, e.range.first}, [](std::uint32_t) { return true; })
                .has_value());
        check(index.find_covering(e.range, [](std::uint32_t) { return true; }).has_value());
    }
    return 0;
}
