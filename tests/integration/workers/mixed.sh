#!/bin/bash
# Good and bad lines for the count parser, stderr output, a 200 KiB line.
echo 1
echo "not a number"
echo 2
echo "to stderr" >&2
head -c 204800 /dev/zero | tr '\0' 'x'
echo
echo 3
