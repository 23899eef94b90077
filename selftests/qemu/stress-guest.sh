#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest script of tcg-loop.sh's "stress" test: memwatch loaded (with
# hooks=$MEMWATCH_HOOKS when set), then selftests/memwatch_stress alone,
# whose phase 2 unloads the module under load and loads it again. TAP on
# stdout.

set -e

params=${MEMWATCH_HOOKS:+hooks=$MEMWATCH_HOOKS}
export MEMWATCH_KO_PARAMS=$params
# shellcheck disable=SC2086 # no parameter, or one word
insmod "$MEMWATCH_KO" $params
echo "ok 1 - insmod memwatch $params"
MEMWATCH_STRESS_SECS=${MEMWATCH_STRESS_SECS:-10} selftests/memwatch_stress
rmmod memwatch
echo "ok 2 - rmmod memwatch"
