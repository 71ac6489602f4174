#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ops/op.hpp"

namespace pb::cli {

// Reads the values pbctl takes from outside its command line: a JSON param's
// text given inline, as a file path, "@path" or "-" (stdin); a secret given as
// "-"; a NAME=VALUE word's "-" or "@path". One per invocation: stdin can be
// read once, so a second param (or word) given as "-" is a usage error. Every
// file and stdin is read with a size bound. Errors are Error(invalid_argument)
// naming the parameter (and the path), never a library's text.
class ParamInput {
  public:
    // `max_bytes`: the most a file or stdin may hold (pbd's server.max_body);
    // `stdin_fd`: where "-" reads from (0, standard input, but for tests).
    explicit ParamInput(std::size_t max_bytes, int stdin_fd = 0)
        : m_max_bytes(max_bytes), m_stdin_fd(stdin_fd) {}

    // The text of a json_object param as the user gave it: `value` itself when it
    // is inline JSON (its first non-blank character is "{"), stdin for "-", else
    // the file at "@path" or at the plain path. The JSON is parsed by validation.
    std::string json_text(const ops::Param& p, const std::string& value);
    // Standard input, without its trailing newlines, for `p` given as "-".
    std::string stdin_text(const ops::Param& p);
    // NAME=VALUE words as a JSON object of strings (VALUE "-": stdin, "@path": a file).
    nlohmann::json fields_from_words(const ops::Param& p, const std::vector<std::string>& words);

  private:
    std::string file_text(const ops::Param& p, const std::string& path, std::string_view what);
    std::string claim_stdin(const ops::Param& p, std::string_view what);

    std::size_t m_max_bytes;
    int m_stdin_fd;
    std::string m_stdin_taken_by;  // the label of what read stdin, if anything did
};

}  // namespace pb::cli
