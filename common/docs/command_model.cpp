#include "common/docs/command_model.hpp"

#include <algorithm>
#include <cctype>

#include <CLI/CLI.hpp>

namespace pb::docs {
namespace {

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

CommandSpec describe_at(const CLI::App& app, std::vector<std::string> path, const HintsFor& hints) {
    CommandSpec spec;
    spec.name = app.get_name();
    spec.path = path;
    spec.summary = app.get_description();
    spec.footer = app.get_footer();
    for (const CLI::Option* opt : app.get_options()) {
        if (opt->get_positional()) {
            spec.positionals.push_back(upper(opt->get_name(true, false)));
            auto h = hints ? hints(*opt) : OptionHints{};
            spec.positional_choices.push_back(std::move(h.choices));
            spec.positional_live.push_back(std::move(h.live));
            continue;
        }
        FlagSpec f;
        for (const auto& l : opt->get_lnames()) {
            f.names.push_back("--" + l);
        }
        for (const auto& s : opt->get_snames()) {
            f.names.push_back("-" + s);
        }
        if (opt->get_type_size_max() > 0 && opt->get_expected_max() > 0) {
            f.value_name = opt->get_type_name().empty() ? "VALUE" : opt->get_type_name();
        }
        if (hints) {
            auto h = hints(*opt);
            f.choices = std::move(h.choices);
            f.file = h.file;
        }
        f.help = opt->get_description();
        spec.flags.push_back(std::move(f));
    }
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) {
             return !a->get_group().empty();  // hidden commands have no group
         })) {
        auto sub_path = path;
        sub_path.push_back(sub->get_name());
        spec.commands.push_back(describe_at(*sub, std::move(sub_path), hints));
    }
    return spec;
}

}  // namespace

CommandSpec describe(const CLI::App& app, const HintsFor& hints) {
    return describe_at(app, {}, hints);
}

void for_each_command(const CommandSpec& root, const std::function<void(const CommandSpec&)>& fn) {
    fn(root);
    for (const auto& c : root.commands) {
        for_each_command(c, fn);
    }
}

}  // namespace pb::docs
