#!/bin/bash
# Ignores SIGINT and SIGTERM; only SIGKILL ends it.
trap '' INT TERM
echo started
while :; do sleep 0.1; done
