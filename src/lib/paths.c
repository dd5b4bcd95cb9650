/* paths.c - locate Scalpels' programs and tracers (see paths.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scalpels/paths.h"
#include "scalpels/util.h"

#ifndef SCA_REL_TRACER_DIR
#define SCA_REL_TRACER_DIR "share/scalpels/tracers"
#endif

char *paths_exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return sca_strdup(".");
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == buf)
        return sca_strdup("/");
    if (slash != NULL)
        *slash = '\0';
    return sca_strdup(buf);
}

char *paths_tracer_dir(void)
{
    char *bin = paths_exe_dir();
    char *slash = strrchr(bin, '/');
    if (slash != NULL)
        *slash = '\0';
    char *dir = sca_asprintf("%s/%s", bin[0] ? bin : "", SCA_REL_TRACER_DIR);
    free(bin);
    return dir;
}

char *paths_program(const char *name)
{
    char *bin = paths_exe_dir();
    char *path = sca_asprintf("%s/%s", bin, name);
    free(bin);
    return path;
}
