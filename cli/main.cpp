// pbctl: pb's command line. Builds its commands from the op table and runs an op
// on the database (local mode) or sends it to pbd (--server).
#include "cli/app.hpp"

int main(int argc, char** argv) {
    return pb::cli::run(argc, argv);
}
