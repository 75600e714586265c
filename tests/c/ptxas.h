/* ptxas.h - whether the CUDA toolkit's ptxas accepts PTX for sm_90, for
 * the tests of GPU code: 1 yes, 0 no, -1 when the toolkit is not here (the
 * test then checks what it can without it). */
#ifndef PYACC_TEST_PTXAS_H
#define PYACC_TEST_PTXAS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int ptxas_ok(const char *ptx)
{
    if (access("/usr/local/cuda/bin/ptxas", X_OK) != 0)
        return -1;
    char path[] = "/tmp/pyacc-ptx-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs(ptx, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/local/cuda/bin/ptxas --gpu-name sm_90 %s -o /dev/null 2>&1", path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0;
}

#endif
