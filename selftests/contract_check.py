#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""contract_check.py PID: is `memwatchctl report PID --json` true?

The tracking tests (memwatch_track) run this on every scenario while its
process is at rest: the report must follow the JSON contract (fields, types,
kinds, flags, totals, lazy marks) and each region's reserved and touched
bytes must equal what /proc/PID/smaps and pagemap say. The checks are the
ones ctl_report.py defines.

Exit 0 when it holds, 1 with the differences on stderr, 4 when it cannot
run (no memwatchctl).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctl_report as contract  # noqa: E402


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: contract_check.py PID", file=sys.stderr)
        return 2
    if not os.access(contract.CTL, os.X_OK):
        print("no memwatchctl at %s" % contract.CTL, file=sys.stderr)
        return 4
    contract.ZERO_PFN = contract.zero_page_pfn()
    try:
        contract.compare_with_smaps(int(sys.argv[1]))
    except contract.Fail as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
