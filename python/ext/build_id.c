/* build_id.c - what identifies this build of the extension, for the disk
 * cache's keys: compiled code depends on the compiler that made it and on
 * the runtime it calls, so an entry made by another build of pyacc (same
 * version number or not) must not be served.
 *
 * The linker's GNU build ID (a hash of the linked object, in a PT_NOTE
 * segment) is read from the loaded extension itself: no file is read, and
 * it changes with any change to the code.  Where the object has none, the
 * file's size and modification time stand in for it. */
#include "ext.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct found {
    uintptr_t base; /* the extension's load address */
    char hex[2 * 64 + 1];
} found;

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    found *fd = data;
    if (info->dlpi_addr != fd->base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *nh;
            const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
            if ((const char *)desc + nh->n_descsz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                nh->n_descsz > 0 && nh->n_descsz <= 64) {
                for (unsigned k = 0; k < nh->n_descsz; k++)
                    snprintf(fd->hex + 2 * k, 3, "%02x", desc[k]);
                return 1;
            }
            p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return 1;
}

PyObject *pyext_build_id(void)
{
    Dl_info di;
    found fd = {0};
    if (dladdr((void *)pyext_build_id, &di) && di.dli_fname) {
        fd.base = (uintptr_t)di.dli_fbase; /* a shared object's segments start at vaddr 0 */
        dl_iterate_phdr(visit, &fd);
        if (!fd.hex[0]) {
            struct stat st;
            if (stat(di.dli_fname, &st) == 0)
                snprintf(fd.hex, sizeof fd.hex, "file:%lld:%lld.%09ld", (long long)st.st_size,
                         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        }
    }
    if (!fd.hex[0])
        snprintf(fd.hex, sizeof fd.hex, "unknown");
    return PyUnicode_FromString(fd.hex);
}
