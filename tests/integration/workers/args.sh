#!/bin/bash
# Prints each argument on its own line, as received.
for a in "$@"; do printf '%s\n' "$a"; done
