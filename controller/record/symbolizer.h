// Turns raw return addresses from a live process into "function (object)"
// frames: /proc/PID/maps finds the object and the offset in it, the object's
// ELF symbol tables (.symtab, else .dynsym) the function. Used by the recorder
// for trace=1 backtraces, while the process still runs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace faultline {

class Symbolizer {
  public:
    Symbolizer();
    ~Symbolizer();
    // One line per frame: "function+0xOFF (object)", or "0xADDR (object)"
    // without a symbol, or "0xADDR" outside any mapped object.
    std::string frame(int32_t pid, uint64_t ip);
    std::string backtrace(int32_t pid, const uint64_t* ips, unsigned n);
    // The same for a return address given relative to its object (`offset`
    // from where the object at `path` was loaded: common/site.h), with no
    // process to ask.
    std::string object_frame(const std::string& path, uint64_t offset);

  private:
    struct Mapping {
        uint64_t start, end, offset;
        std::string path;
    };
    struct Object;
    const std::vector<Mapping>& maps(int32_t pid, uint64_t ip);
    Object& object(const std::string& path);

    std::map<int32_t, std::vector<Mapping>> maps_;
    std::map<std::string, std::unique_ptr<Object>> objects_;
};

} // namespace faultline
