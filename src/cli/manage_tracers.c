/* manage_tracers.c - the tracers that ship with Scalpels (see manage.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manage.h"
#include "scalpels/util.h"

/*
 * Ports of the original prototype's tracers plus the built-in samplers.
 * %(bindir)s is where the Scalpels programs are, %(tracer_path)s the tracer
 * scripts' directory; other keys are data options (sca-manage setup -d).
 */
static const manage_shipped_tracer shipped[] = {
    {"rpc", "%(bindir)s/sca-sampler port --port %(rpcport)s --interval %(interval)s", "traffic",
     "Port Traffic"},
    {"traffic", "%(tracer_path)s/device-input-traffic.sh %(dev)s %(interval)s", "traffic",
     "Device Traffic"},
    {"mysql", "%(tracer_path)s/mysql-live.sh %(mysql_socket)s", "log", "MySQL"},
    {"rabbit", "%(bindir)s/sca-rabbit-trace --url %(rabbit_url)s", "log", "RabbitMQ"},
    {"iocount", "%(bindir)s/sca-sampler iocount --interval %(interval)s", "count", "IO-Count"},
    {"oslolock", "stap %(tracer_path)s/oslo-lock.stp", "count", "Oslo-Lock"},
    {"modelsave", "stap %(tracer_path)s/model-save.stp", "count", "Model-Save"},
    {"sqlaexec", "stap %(tracer_path)s/sqla-exec.stp", "count", "Sqlalchemy-Execute"},
    {"rpccount", "stap %(tracer_path)s/rpc-count.stp", "count", "RPC-Count"},
    {"cpu", "%(bindir)s/sca-sampler cpu --interval %(interval)s", "kv", "CPU"},
    {"mem", "%(bindir)s/sca-sampler mem --interval %(interval)s", "kv", "Memory"},
    {"diskio", "%(bindir)s/sca-sampler diskio --interval %(interval)s", "kv", "Disk IO"},
    {"netdev", "%(bindir)s/sca-sampler netdev --interval %(interval)s --dev %(netdev_devs)s", "kv",
     "Network"},
    {"proc", "%(bindir)s/sca-sampler proc --interval %(interval)s --pid %(pid)s --pname %(pname)s",
     "kv", "Process"},
};

const manage_shipped_tracer *manage_shipped_tracers(size_t *n)
{
    *n = sizeof(shipped) / sizeof(shipped[0]);
    return shipped;
}

/* The interface of the default route, else the first one that is not
 * loopback, else "lo": the original's "eth0" rarely exists today. */
static char *default_device(void)
{
    FILE *f = fopen("/proc/net/route", "r");
    char line[256], iface[64];
    unsigned long dest;
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL) {
            if (sscanf(line, "%63s %lx", iface, &dest) == 2 && dest == 0) {
                fclose(f);
                return sca_strdup(iface);
            }
        }
        fclose(f);
    }
    f = fopen("/proc/net/dev", "r");
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL) {
            char *colon = strchr(line, ':');
            if (colon == NULL)
                continue;
            *colon = '\0';
            char *name = line + strspn(line, " ");
            if (strcmp(name, "lo") != 0) {
                fclose(f);
                return sca_strdup(name);
            }
        }
        fclose(f);
    }
    return sca_strdup("lo");
}

static json_t *default_options(void)
{
    char *dev = default_device();
    /* netdev_devs: empty is every interface but loopback. */
    json_t *opts =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "rpcport", "5672", "dev", dev,
                  "interval", "1", "pid", "", "pname", "", "netdev_devs", "", "mysql_socket",
                  "/run/mysqld/mysqld.sock", "rabbit_url", "amqp://guest:guest@localhost:5672/");
    free(dev);
    return opts;
}

int manage_register_shipped(store *s, sca_error *err)
{
    json_t *defaults = default_options();
    json_t *current = NULL;
    int rc = store_config_get(s, &current, err);
    if (rc == 0) {
        /* Never overwrite an option the operator has set. */
        json_object_update_missing(current, defaults);
        rc = store_config_update(s, current, err);
    }
    for (size_t i = 0; rc == 0 && i < sizeof(shipped) / sizeof(shipped[0]); i++)
        rc = store_tracer_register(s, shipped[i].name, shipped[i].tpl, shipped[i].parser,
                                   shipped[i].title, err);
    json_decref(current);
    json_decref(defaults);
    return rc;
}
