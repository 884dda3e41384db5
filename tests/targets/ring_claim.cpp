// A writer that dies between claiming a record and publishing it: claims
// the next record of one of session NAME's rings and exits without writing
// it, as a client killed inside the shim's push would (the recorder must
// give the record up and go on: test_client_exchanges.sh).
//
//     ring_claim NAME exchanges|outcomes|events
#include "common/segment.h"

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

using namespace faultline;

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: ring_claim NAME exchanges|outcomes|events\n");
        return 2;
    }
    std::string path = std::string("/faultline.") + argv[1];
    int fd = shm_open(path.c_str(), O_RDWR, 0);
    if (fd < 0) {
        perror(path.c_str());
        return 1;
    }
    void* p = mmap(nullptr, sizeof(Segment), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    auto* seg = static_cast<Segment*>(p);
    if (seg->abi_version != kAbiVersion) {
        fprintf(stderr, "ring_claim: segment ABI %u, not %u\n", seg->abi_version, kAbiVersion);
        return 1;
    }
    // Claimed, never published: the slot's stamp stays at its lap.
    if (strcmp(argv[2], "exchanges") == 0)
        seg->exchanges.head.fetch_add(1);
    else if (strcmp(argv[2], "outcomes") == 0)
        seg->outcomes.head.fetch_add(1);
    else
        seg->events.head.fetch_add(1);
    printf("claimed\n");
    return 0;
}
