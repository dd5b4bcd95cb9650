#!/bin/bash
# Prints 1, 2, 3, ... forever, with a helper child in the same process group
# (the kind of grandchild a stop must not leave behind).
sleep 1000 &
i=0
while :; do
  i=$((i + 1))
  echo "$i"
done
