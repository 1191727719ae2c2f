/* How a statically linked program says it holds musl: platform.libc_ver(), and with it
 * test.support.linked_to_musl(), searches the executable's bytes for "musl-<version>". A dynamic
 * program names musl's loader; a static one holds musl's code but no name of it, and would pass
 * for a program of no known libc. Linked into every static program the toolchain makes. */
#define TEXT(x) #x
#define STRING(x) TEXT(x)

__attribute__((used, retain, visibility("hidden")))
const char pbs_libc_mark[] = "musl-" STRING(PBS_MUSL_VERSION);
