#!/bin/bash
# Good and bad lines for the count parser, stderr output, a 200 KiB line,
# and lines of exactly 64 KiB and 128 KiB (the piece size and twice it).
echo 1
echo "not a number"
echo 2
echo "to stderr" >&2
head -c 204800 /dev/zero | tr '\0' 'x'
echo
head -c 65536 /dev/zero | tr '\0' 'y'
echo
head -c 131072 /dev/zero | tr '\0' 'z'
echo
echo 3
