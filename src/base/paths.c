/* paths.c - locate Scalpels' programs and tracers (see paths.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int paths_make_state_dir(const char *dir, sca_error *err)
{
    char *parent = sca_strdup(dir);
    char *slash = strrchr(parent, '/');
    int rc = 0;
    if (slash != NULL && slash != parent) {
        *slash = '\0';
        rc = sca_mkdir_p(parent, 0755, err);
    }
    free(parent);
    if (rc != 0)
        return rc;
    if (mkdir(dir, PATHS_STATE_DIR_MODE) == 0) {
        /* mkdir's mode is less the umask: 0750 under umask 077 would keep
         * the agent's group out of its socket. */
        if (chmod(dir, PATHS_STATE_DIR_MODE) != 0)
            return sca_error_set(err, -errno, "cannot set the mode of %s: %s", dir,
                                 strerror(errno));
        return 0;
    }
    if (errno != EEXIST)
        return sca_error_set(err, -errno, "cannot create directory %s: %s", dir, strerror(errno));
    return 0;
}

bool paths_pid_is_tracer(pid_t pid, const char *task_uuid, const char *tracer)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *args[64];
    int argc = 0;
    for (char *p = buf; p < buf + n && argc < 64; p += strlen(p) + 1)
        args[argc++] = p;
    /* A tracer that waited for its task (--task-fd) wrote it over longer
     * arguments: what is left of them reads as empty ones. */
    while (argc > 0 && args[argc - 1][0] == '\0')
        argc--;
    if (argc < 3)
        return false;
    const char *base = strrchr(args[0], '/');
    base = base ? base + 1 : args[0];
    return strcmp(base, "sca-tracer") == 0 && strcmp(args[argc - 1], tracer) == 0 &&
           (task_uuid == NULL || strcmp(args[argc - 2], task_uuid) == 0);
}
