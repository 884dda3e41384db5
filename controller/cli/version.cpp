#include "controller/cli/version.h"

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"

#include <cstdio>

#ifndef FAULTLINE_VERSION
#error "FAULTLINE_VERSION is not defined: build with make (it reads the VERSION file)"
#endif

namespace faultline {

const char* faultline_version() {
    return FAULTLINE_VERSION;
}

int cmd_version(const Argv& argv) {
    cli::Args args("version", "", "Prints faultline's version (also: faultline --version).", {});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    printf("faultline %s\n", faultline_version());
    return cli::kOk;
}

} // namespace faultline
