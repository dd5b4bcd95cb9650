/* rpc_args.c - keyword argument checks worded as Python (see rpc_args.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rpc_args.h"
#include "scalpels/util.h"

static const rpc_arg_spec *spec_find(const rpc_method *m, const char *name)
{
    for (const rpc_arg_spec *a = m->args; a != NULL && a->name != NULL; a++) {
        if (strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

static bool type_ok(const rpc_arg_spec *a, const json_t *v, size_t *bad_item)
{
    switch (a->type) {
    case RPC_ARG_ANY:
        return true;
    case RPC_ARG_STRING:
        return rpc_json_is_cstring(v);
    case RPC_ARG_BOOL:
        return json_is_boolean(v);
    case RPC_ARG_INT:
        return json_is_integer(v);
    case RPC_ARG_NUMBER:
        return json_is_number(v);
    case RPC_ARG_OBJECT:
        return json_is_object(v);
    case RPC_ARG_ARRAY:
        return json_is_array(v);
    case RPC_ARG_STRING_LIST:
        if (!json_is_array(v))
            return false;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (!rpc_json_is_cstring(json_array_get(v, i))) {
                *bad_item = i;
                return false;
            }
        }
        return true;
    }
    return false;
}

static const char *type_name(enum rpc_arg_type t)
{
    switch (t) {
    case RPC_ARG_STRING:
        return "str";
    case RPC_ARG_BOOL:
        return "bool";
    case RPC_ARG_INT:
        return "int";
    case RPC_ARG_NUMBER:
        return "int or float";
    case RPC_ARG_OBJECT:
        return "dict";
    case RPC_ARG_ARRAY:
        return "list";
    case RPC_ARG_STRING_LIST:
        return "list of str";
    default:
        return "any";
    }
}

static int unexpected(const rpc_method *m, json_t *args, rpc_fault *fault)
{
    const char *key;
    json_t *v;
    json_object_foreach(args, key, v)
    {
        if (spec_find(m, key) == NULL) {
            rpc_fault_set(fault, "TypeError", "builtins",
                          "%s() got an unexpected keyword argument '%s'", m->name, key);
            return -EINVAL;
        }
    }
    return 0;
}

/* "missing 2 required positional arguments: 'a' and 'b'" (Python says
 * positional because oslo passes them as **kwargs to positional params). */
static int missing(const rpc_method *m, json_t *args, rpc_fault *fault)
{
    size_t n = 0;
    for (const rpc_arg_spec *a = m->args; a != NULL && a->name != NULL; a++)
        n += a->required && json_object_get(args, a->name) == NULL;
    if (n == 0)
        return 0;
    sca_buf names = {0};
    size_t i = 0;
    for (const rpc_arg_spec *a = m->args; a->name != NULL; a++) {
        if (!a->required || json_object_get(args, a->name) != NULL)
            continue;
        const char *sep = i == 0 ? "" : (i + 1 < n ? ", " : (n > 2 ? ", and " : " and "));
        sca_buf_appendf(&names, "%s'%s'", sep, a->name);
        i++;
    }
    rpc_fault_set(fault, "TypeError", "builtins",
                  "%s() missing %zu required positional argument%s: %s", m->name, n,
                  n > 1 ? "s" : "", names.data);
    sca_buf_free(&names);
    return -EINVAL;
}

static int wrong_types(const rpc_method *m, json_t *args, rpc_fault *fault)
{
    for (const rpc_arg_spec *a = m->args; a != NULL && a->name != NULL; a++) {
        json_t *v = json_object_get(args, a->name);
        size_t bad_item = 0;
        if (v == NULL || (json_is_null(v) && (a->nullable || a->type == RPC_ARG_ANY)))
            continue;
        if (json_is_null(v)) {
            rpc_fault_set(fault, "TypeError", "builtins", "%s() argument '%s' must be %s, not None",
                          m->name, a->name, type_name(a->type));
            return -EINVAL;
        }
        if (type_ok(a, v, &bad_item))
            continue;
        bool listed = a->type == RPC_ARG_STRING_LIST && json_is_array(v);
        /* The right type, but a string with a NUL character in it. */
        bool nul = (a->type == RPC_ARG_STRING && json_is_string(v)) ||
                   (listed && json_is_string(json_array_get(v, bad_item)));
        if (nul)
            rpc_fault_set(fault, "ValueError", "builtins",
                          "%s() argument '%s' contains a NUL character", m->name, a->name);
        else if (listed)
            rpc_fault_set(fault, "TypeError", "builtins",
                          "%s() argument '%s' must be list of str, but item %zu is %s", m->name,
                          a->name, bad_item, rpc_json_pytype(json_array_get(v, bad_item)));
        else
            rpc_fault_set(fault, "TypeError", "builtins", "%s() argument '%s' must be %s, not %s",
                          m->name, a->name, type_name(a->type), rpc_json_pytype(v));
        return -EINVAL;
    }
    return 0;
}

int rpc_args_check(const rpc_method *m, json_t *args, rpc_fault *fault)
{
    int rc = unexpected(m, args, fault);
    if (rc == 0)
        rc = missing(m, args, fault);
    if (rc == 0)
        rc = wrong_types(m, args, fault);
    return rc;
}
