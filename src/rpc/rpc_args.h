/*
 * rpc_args.h - checks a request's keyword arguments against a method's
 * rpc_arg_spec list before its handler runs, with the TypeError wording
 * Python gives for the same mistake when oslo calls method(ctxt, **args).
 */
#ifndef SCALPELS_RPC_ARGS_H
#define SCALPELS_RPC_ARGS_H

#include <jansson.h>

#include "rpc_envelope.h"
#include "scalpels/rpc.h"

/* 0 when args (an object, or NULL for none) fit m; otherwise -EINVAL with a
 * TypeError in fault, checked in Python's order: an unexpected keyword
 * first, then missing ones, then (our addition) wrong types. */
int rpc_args_check(const rpc_method *m, json_t *args, rpc_fault *fault);

#endif
