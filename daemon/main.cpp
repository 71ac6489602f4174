// pbd: pb's daemon. Serves the op table over HTTP; see daemon/lifecycle.hpp.
#include "daemon/lifecycle.hpp"

int main(int argc, char** argv) {
    return pb::daemon::Lifecycle().run(argc, argv);
}
