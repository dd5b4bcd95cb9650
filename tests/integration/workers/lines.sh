#!/bin/bash
# Prints the numbers 1..$1 (one a line), then exits with status ${2:-0}.
seq 1 "$1"
exit "${2:-0}"
