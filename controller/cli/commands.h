// One function per faultline command; each returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace faultline {

using Argv = std::vector<std::string>;

int cmd_run(const Argv& argv);
int cmd_enable(const Argv& argv);
int cmd_disable(const Argv& argv);
int cmd_list(const Argv& argv);
int cmd_status(const Argv& argv);
int cmd_sessions(const Argv& argv);
int cmd_gc(const Argv& argv);
int cmd_hooks(const Argv& argv);
int cmd_record(const Argv& argv);
int cmd_mark(const Argv& argv);
int cmd_probe(const Argv& argv);
int cmd_report(const Argv& argv);
int cmd_top(const Argv& argv);
int cmd_pause(const Argv& argv);
int cmd_experiment(const Argv& argv);
int cmd_sweep(const Argv& argv);
int cmd_version(const Argv& argv);

} // namespace faultline
