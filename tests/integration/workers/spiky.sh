#!/bin/bash
# Prints $1 numbers, i % 100 for line i, except 1000000 at line $2 (a spike
# a chart must keep) and -5 at line $3 (a dip).  Line by line, so that the
# tracer sees them arrive over time rather than in a few blocks.
awk -v n="$1" -v spike="$2" -v dip="$3" \
  'BEGIN { for (i = 1; i <= n; i++) { print (i == spike ? 1000000 : i == dip ? -5 : i % 100); fflush() } }'
