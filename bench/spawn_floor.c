/*
 * spawn_floor.c - the floor of a cluster start on one machine: N copies of
 * each of two commands started at once (posix_spawn, output to /dev/null)
 * and awaited, as a start of N nodes starts N sca-tracer and N workers.
 * Prints the wall time in milliseconds.
 *
 *   bench_spawn_floor N CMD_A [ARG...] -- CMD_B [ARG...]
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int spawn_quiet(char **argv, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

int main(int argc, char **argv)
{
    int sep = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            sep = i;
    }
    int n = argc > 1 ? atoi(argv[1]) : 0;
    if (n <= 0 || sep < 3 || sep == argc - 1) {
        fprintf(stderr, "usage: bench_spawn_floor N CMD_A [ARG...] -- CMD_B [ARG...]\n");
        return 2;
    }
    argv[sep] = NULL;
    char **cmds[2] = {argv + 2, argv + sep + 1};
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < 2; c++) {
            pid_t pid;
            int rc = spawn_quiet(cmds[c], &pid);
            if (rc != 0) {
                fprintf(stderr, "bench_spawn_floor: cannot start %s: %s\n", cmds[c][0],
                        strerror(rc));
                return 1;
            }
        }
    }
    int status, failed = 0;
    while (wait(&status) > 0)
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    printf("%.0f\n", now_ms() - t0);
    if (failed > 0)
        fprintf(stderr, "bench_spawn_floor: %d of %d processes failed\n", failed, 2 * n);
    return failed > 0;
}
