/*
 * rpc_id.h - fresh random ids for _msg_id and _unique_id (uuid4, 32 hex
 * digits, as oslo sends them), at one getrandom() per 256 ids: libuuid
 * makes six system calls for each id, a fifth of a unix-socket round trip.
 */
#ifndef SCALPELS_RPC_ID_H
#define SCALPELS_RPC_ID_H

#define RPC_ID_HEX_LEN 32

/* Thread-safe (the pool is per thread). */
void rpc_id_new(char out[RPC_ID_HEX_LEN + 1]);

#endif
