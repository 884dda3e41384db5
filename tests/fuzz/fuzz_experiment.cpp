// libFuzzer target: the experiment loader (controller/experiment.cpp, with
// toml++) on any file. Bad input must end in a cli::Failure that names
// FILE:LINE:COL (or FILE: for a file-level problem), never a crash, a hang
// or another exception.
#include "controller/cli/cli.h"
#include "controller/experiment/experiment.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace faultline;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static std::string path = "/tmp/faultline-fuzz-" + std::to_string(getpid()) + ".toml";
    FILE* f = fopen(path.c_str(), "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    try {
        Experiment x = load_experiment(path, "experiment");
        if (x.phases.empty()) abort(); // accepted files have at least one phase
        for (const Phase& p : x.phases)
            if (p.duration_ns <= 0) abort();
    } catch (const cli::Failure& e) {
        if (e.why.rfind(path + ":", 0) != 0) abort(); // every error names the file
    }
    return 0;
}
