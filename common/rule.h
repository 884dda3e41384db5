// The rule model: what a parsed rule is (docs/rules.md).
//
// A Rule is plain fixed-width data. The same bytes are what the parser fills
// in, what the controller copies into a segment slot and what the shim reads
// in the target, so it holds no pointers, no std types and no padding that
// changes between compilers.
#pragma once

#include <cstdint>

namespace faultline {

// A family is what one armed mask covers: a hook only walks the rules of its
// own family. SQLite has two: its C API (db.error, db.delay) and its file
// layer below the VFS (db.io, db.corrupt), so that API calls are never
// "seen" by file-layer rules and the other way round.
enum class Family : uint8_t { Mem = 0, Net = 1, Db = 2, Vfs = 3 };
constexpr unsigned kFamilyCount = 4;

#define FL_KINDS(X)                                                                                \
    X(MemFail, "mem.fail", Mem)                                                                    \
    X(MemLimit, "mem.limit", Mem)                                                                  \
    X(MemDelay, "mem.delay", Mem)                                                                  \
    X(MemBallast, "mem.ballast", Mem)                                                              \
    X(NetDelay, "net.delay", Net)                                                                  \
    X(NetTimeout, "net.timeout", Net)                                                              \
    X(NetLoss, "net.loss", Net)                                                                    \
    X(NetBandwidth, "net.bandwidth", Net)                                                          \
    X(NetReset, "net.reset", Net)                                                                  \
    X(NetRefuse, "net.refuse", Net)                                                                \
    X(NetPartition, "net.partition", Net)                                                          \
    X(NetDns, "net.dns", Net)                                                                      \
    X(NetSlice, "net.slice", Net)                                                                  \
    X(NetCorrupt, "net.corrupt", Net)                                                              \
    X(DbError, "db.error", Db)                                                                     \
    X(DbDelay, "db.delay", Db)                                                                     \
    X(DbIo, "db.io", Vfs)                                                                          \
    X(DbCorrupt, "db.corrupt", Vfs)

enum class Kind : uint8_t {
#define FL_KIND_ENUM(id, name, family) id,
    FL_KINDS(FL_KIND_ENUM)
#undef FL_KIND_ENUM
};

#define FL_KIND_COUNT(id, name, family) +1
inline constexpr unsigned kKindCount = 0 FL_KINDS(FL_KIND_COUNT);
#undef FL_KIND_COUNT

const char* kind_name(Kind k);
Family kind_family(Kind k);
// The operations (on= values: kOnSend... for net, kOnStep... for db) a kind
// can act on; 0 for kinds without on=. A rule whose on= names none of them
// can never fire, and is refused.
uint32_t kind_operations(Kind k);

// Memory functions, for `fn=`.
enum MemFn : uint32_t {
    kFnMalloc = 1u << 0,
    kFnCalloc = 1u << 1,
    kFnRealloc = 1u << 2,
    kFnReallocarray = 1u << 3,
    kFnPosixMemalign = 1u << 4,
    kFnAlignedAlloc = 1u << 5,
    kFnMemalign = 1u << 6,
    kFnValloc = 1u << 7,
    kFnPvalloc = 1u << 8,
    kFnAllMem = (1u << 9) - 1,
};

// Network operations, for `on=`.
enum NetOp : uint32_t {
    kOnConnect = 1u << 0,
    kOnAccept = 1u << 1,
    kOnSend = 1u << 2,
    kOnRecv = 1u << 3,
    kOnDns = 1u << 4,
    kOnAllNet = (1u << 5) - 1,
};

// SQLite API calls, for `on=`, and file operations, for `op=`.
enum DbOp : uint32_t {
    kOnOpen = 1u << 0,
    kOnPrepare = 1u << 1,
    kOnStep = 1u << 2,
    kOnExec = 1u << 3,
    kOnAllDb = (1u << 4) - 1,
};
enum DbIoOp : uint32_t {
    kIoRead = 1u << 0,
    kIoWrite = 1u << 1,
    kIoSync = 1u << 2,
    kIoLock = 1u << 3,
    kIoOpen = 1u << 4,
    kIoTruncate = 1u << 5,
    kIoAll = (1u << 6) - 1,
};

enum class Direction : uint8_t { Both = 0, Send = 1, Recv = 2 };
enum class Scope : uint8_t { Socket = 0, Process = 1 };
enum class Proto : uint8_t { Any = 0, Tcp = 1, Udp = 2 };
// What one decision covers (per=): a call, a connection (net kinds: the
// socket's first matching call decides for its life) or a statement's
// execution (db API kinds: its first step after prepare or reset).
enum class Per : uint8_t { Call = 0, Connection = 1, Statement = 2 };

// `peer=ADDR[/PREFIX][:PORT]`; family 0 means any address.
struct Peer {
    uint8_t family; // 0 any, 4 IPv4, 6 IPv6
    uint8_t prefix; // bits compared
    uint16_t port;  // 0 any
    uint8_t addr[16];
};

// Every key of the language; Rule::keys records which were given.
enum RuleKey : uint8_t {
    kKeyName,
    kKeyP,
    kKeyAfter,
    kKeyEvery,
    kKeyNth,
    kKeyTimes,
    kKeyStart,
    kKeyFor,
    kKeyCaller,
    kKeyProc,
    kKeyTrace,
    kKeyFn,
    kKeyMin,
    kKeyMax,
    kKeyLimit,
    kKeyDelay,
    kKeyJitter,
    kKeySize,
    kKeyPeer,
    kKeyLport,
    kKeyProto,
    kKeyOn,
    kKeyTimeout,
    kKeyRto,
    kKeyRate,
    kKeyDir,
    kKeyScope,
    kKeyBurst,
    kKeyBytes,
    kKeyErrno,
    kKeyHost,
    kKeyError,
    kKeySql,
    kKeyFile,
    kKeyRc,
    kKeyOp,
    kKeySite,
    kKeyPer,
    kKeyCount
};

struct Rule {
    // -- identity ---------------------------------------------------------
    Kind kind;
    uint8_t trace;    // trace=1
    uint8_t has_peer; // peer= given
    Per per;          // per=
    uint8_t pad0[4];
    uint64_t keys;  // bit set of the keys given (1 << RuleKey)
    char name[32];  // name=, or generated by the arming side
    char text[256]; // the rule as written, spaces normalised

    // -- trigger (common keys) --------------------------------------------
    double p;         // 1 when not given
    uint64_t after;   // let the first N matching calls through
    uint64_t every;   // then every N-th (0: all)
    uint64_t nth;     // only the N-th (0: unset)
    uint64_t times;   // retire after N injections (0: unlimited)
    int64_t start_ns; // active this long after arming
    int64_t for_ns;   // retire this long after becoming active (0: never)
    uint64_t site;    // site=HEX: one failure site (common/site.h), 0 unset
    char caller[64];  // caller=GLOB ("" unset)
    char proc[32];    // proc=GLOB ("" unset)

    // -- kind keys and filters --------------------------------------------
    uint32_t ops;       // fn= (MemFn), on= (NetOp/DbOp), op= (DbIoOp); 0 = all
    int32_t code;       // errno= / error= (EAI) / rc= (SQLite)
    uint64_t min_size;  // mem.fail min=
    uint64_t max_size;  // mem.fail max= (UINT64_MAX unset), net.slice max=
    uint64_t amount;    // mem.limit limit=, mem.ballast size=, net.reset bytes=
    uint64_t burst;     // net.bandwidth burst=
    double rate;        // net.bandwidth rate=, bytes per second
    int64_t delay_ns;   // delay=
    int64_t jitter_ns;  // jitter=
    int64_t timeout_ns; // net.timeout timeout=
    int64_t rto_ns;     // net.loss rto=
    Peer peer;          // peer=
    uint16_t lport;     // lport=
    Direction dir;
    Scope scope;
    Proto proto;
    uint8_t pad1[3];
    char host[64];  // net.dns host=GLOB
    char sql[128];  // sql=GLOB
    char file[128]; // file=GLOB
};

} // namespace faultline
