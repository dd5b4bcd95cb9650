#!/bin/bash
# Prints $1 log lines that CSV and JSON must quote or escape: commas,
# double quotes, a backslash, a tab and UTF-8.
for i in $(seq 1 "$1"); do
  printf 'line %d, "quoted" \\ back\tslash é ✓\n' "$i"
done
