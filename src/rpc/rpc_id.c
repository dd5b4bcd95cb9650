/* rpc_id.c - pooled random uuid4 ids (see rpc_id.h). */
#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#include "rpc_id.h"

#define POOL_IDS 256

static _Thread_local unsigned char pool[POOL_IDS * 16];
static _Thread_local size_t pool_next = POOL_IDS;

/* A forked child must not hand out its parent's next ids. */
static void forget_pool(void)
{
    pool_next = POOL_IDS;
}

static void watch_forks(void)
{
    pthread_atfork(NULL, NULL, forget_pool);
}

static void refill(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, watch_forks);
    size_t got = 0;
    while (got < sizeof(pool)) {
        ssize_t n = getrandom(pool + got, sizeof(pool) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            break;
    }
    /* Without getrandom (old kernel, seccomp), libuuid's own sources. */
    for (got -= got % 16; got < sizeof(pool); got += 16)
        uuid_generate_random(pool + got);
    pool_next = 0;
}

void rpc_id_new(char out[RPC_ID_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    if (pool_next == POOL_IDS)
        refill();
    unsigned char *u = pool + pool_next++ * 16;
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[u[i] >> 4];
        out[2 * i + 1] = hex[u[i] & 15];
    }
    out[RPC_ID_HEX_LEN] = '\0';
}
