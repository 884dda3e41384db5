// faultline hooks: every intercepted function, from the shim's own list
// (common/hooks.def), as text, json, or the markdown tables of docs/hooks.md
// (tests/integration/test_docs.sh keeps the page and the list in step).

#include "common/hooks.h"
#include "common/rule.h"
#include "controller/cli/cli.h"
#include "controller/cli/commands.h"

#include <cstdio>
#include <string>

namespace faultline {

namespace {

bool in_family(const HookInfo& h, unsigned f) {
    return unsigned(h.family) == f;
}

void print_json() {
    printf("[");
    const char* sep = "";
    for (auto& h : kHooks) {
        printf("%s{\"family\":\"%s\",\"function\":\"%s\",\"role\":\"%s\",\"failure\":%s,"
               "\"faults\":%s}",
               sep, kFamilyNames[unsigned(h.family)], h.name, kRoleNames[unsigned(h.role)],
               cli::json_string(h.failure).c_str(), cli::json_string(h.faults).c_str());
        sep = ",";
    }
    printf("]\n");
}

// One table per family, the rows docs/hooks.md carries.
void print_markdown() {
    for (unsigned f = 0; f < kFamilyCount; ++f) {
        printf("%s\n\n| function | role | faults | failure |\n|---|---|---|---|\n",
               kFamilyNames[f]);
        for (auto& h : kHooks)
            if (in_family(h, f))
                printf("| `%s` | %s | %s | %s |\n", h.name, kRoleNames[unsigned(h.role)], h.faults,
                       h.failure);
        printf("\n");
    }
}

// Every fault kind the rule parser knows, in common/rule.h's order.
constexpr Kind kAllKinds[] = {
#define FL_KIND_VALUE(id, name, family) Kind::id,
    FL_KINDS(FL_KIND_VALUE)
#undef FL_KIND_VALUE
};

void print_kinds(bool json) {
    if (json) {
        printf("[");
        const char* sep = "";
        for (Kind k : kAllKinds) {
            printf("%s{\"kind\":\"%s\",\"family\":\"%s\"}", sep, kind_name(k),
                   kFamilyNames[unsigned(kind_family(k))]);
            sep = ",";
        }
        printf("]\n");
        return;
    }
    for (Kind k : kAllKinds)
        printf("%-16s %s\n", kind_name(k), kFamilyNames[unsigned(kind_family(k))]);
}

void print_text() {
    for (unsigned f = 0; f < kFamilyCount; ++f) {
        printf("%s\n", kFamilyNames[f]);
        for (auto& h : kHooks)
            if (in_family(h, f))
                printf("  %-24s %-12s %s\n", h.name, kRoleNames[unsigned(h.role)], h.faults);
    }
}

} // namespace

int cmd_hooks(const Argv& argv) {
    cli::Args args("hooks", "[--kinds] [--json|--markdown]",
                   "Lists every intercepted function, by family: its role (operation, wait,\n"
                   "bookkeeping, batch, fortify), the fault kinds that act on it and how it\n"
                   "fails when a rule fails it. With --kinds, every fault kind of the rule\n"
                   "language instead, with the family it acts on (docs/rules.md).",
                   {{"--kinds", 0, false, "list the fault kinds, not the functions"},
                    {"--json", 0, false, "machine-readable output"},
                    {"--markdown", 0, false, "the tables of docs/hooks.md"}});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    if (args.has("--json") && args.has("--markdown")) args.usage_error("--json or --markdown");
    if (args.has("--kinds")) {
        if (args.has("--markdown")) args.usage_error("--kinds takes --json, not --markdown");
        print_kinds(args.has("--json"));
    } else if (args.has("--json")) {
        print_json();
    } else if (args.has("--markdown")) {
        print_markdown();
    } else {
        print_text();
    }
    return cli::kOk;
}

} // namespace faultline
