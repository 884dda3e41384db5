#include "common/site_table.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace faultline {

namespace {

SiteTable* map_fd(int fd) {
    void* p = mmap(nullptr, sizeof(SiteTable), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    errno = e;
    return p == MAP_FAILED ? nullptr : static_cast<SiteTable*>(p);
}

} // namespace

SiteTable* site_table_create(const char* path, uint32_t families) {
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return nullptr;
    if (ftruncate(fd, sizeof(SiteTable)) != 0) { // sparse: pages are touched as used
        int e = errno;
        close(fd);
        errno = e;
        return nullptr;
    }
    SiteTable* t = map_fd(fd);
    if (!t) return nullptr;
    // Written before any process of the run exists (they map it after exec).
    t->version = kSiteTableVersion;
    t->families = families;
    t->magic = kSiteTableMagic;
    return t;
}

SiteTable* site_table_map(const char* path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return nullptr;
    off_t size = lseek(fd, 0, SEEK_END);
    if (size != off_t(sizeof(SiteTable))) {
        close(fd);
        errno = EINVAL;
        return nullptr;
    }
    SiteTable* t = map_fd(fd);
    if (t && (t->magic != kSiteTableMagic || t->version != kSiteTableVersion)) {
        site_table_unmap(t);
        errno = EINVAL;
        return nullptr;
    }
    return t;
}

void site_table_unmap(SiteTable* t) {
    if (t) munmap(t, sizeof(SiteTable));
}

void site_table_object(SiteTable& t, uint64_t key, const char* path) {
    if (!key) return;
    for (unsigned probe = 0; probe < kMaxObjects; ++probe) {
        SiteObject& o = t.objects[(key + probe) % kMaxObjects];
        uint64_t k = o.key.load(std::memory_order_acquire);
        if (k == key) return;
        if (k != 0 || !o.key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) {
            if (k == key) return;
            continue;
        }
        unsigned i = 0;
        for (; path[i] && i + 1 < sizeof o.path; ++i) o.path[i] = path[i];
        o.path[i] = 0;
        return;
    }
}

const char* site_table_object_path(const SiteTable& t, uint64_t key) {
    for (unsigned probe = 0; probe < kMaxObjects; ++probe) {
        const SiteObject& o = t.objects[(key + probe) % kMaxObjects];
        uint64_t k = o.key.load(std::memory_order_acquire);
        if (k == key) return o.path;
        if (k == 0) return nullptr;
    }
    return nullptr;
}

} // namespace faultline
