#!/usr/bin/env python3
"""List every test ctest skipped, and every part of a test left out, with its reason.

    python3 scripts/skip_report.py ALLOWLIST JUNIT.xml...

Reads the JUnit files `ctest --output-junit` wrote: a test with status "notrun" (exit 77,
ctest's SKIP_RETURN_CODE) is a skipped test, its reason the "SKIP:" lines it printed; a line
"SKIP-PART: reason" printed by a test that ran is a part left out. Each is printed as
"TEST: reason". In CI (CI=true) the exit status is 1 when one of them matches no pattern of
ALLOWLIST (tests/skips-allowed.txt; the rules are in tests/README.md "Skips"); outside CI it is
0 and the list is for reading.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def load_allowlist(path):
    """[(compiled pattern, line number)]: one regular expression per line, matched with
    re.search against "TEST: reason"; blank lines and lines starting with # are ignored."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            out.append((re.compile(line), n))
    return out


def skips(junit):
    """[(test name, reason)] of one JUnit file."""
    out = []
    for tc in ET.parse(junit).getroot().iter("testcase"):
        name = tc.get("name")
        text = tc.findtext("system-out") or ""
        lines = text.splitlines()
        if tc.get("status") == "notrun":
            why = [ln[len("SKIP:"):].strip() for ln in lines if ln.startswith("SKIP:")]
            sk = tc.find("skipped")
            out.append((name, "; ".join(why) or "(no SKIP: line; %s)"
                        % (sk.get("message") if sk is not None else "not run")))
        for ln in lines:
            if ln.startswith("SKIP-PART:"):
                out.append((name, "part: " + ln[len("SKIP-PART:"):].strip()))
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    allow = load_allowlist(argv[1])
    ci = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
    found = []
    for path in argv[2:]:
        label = os.path.basename(os.path.dirname(os.path.abspath(path)))
        if not os.path.exists(path):
            print("skip report: %s: no JUnit file (did ctest run?)" % path)
            if ci:
                return 1
            continue
        found += [(label, n, why) for n, why in skips(path)]
    print("== skipped tests and parts (%d)" % len(found))
    bad = 0
    for label, name, why in found:
        line = "%s: %s" % (name, why)
        ok = any(p.search(line) for p, _ in allow)
        bad += not ok
        print("  %s[%s] %s" % ("allowed " if ok else "", label, line))
    if bad and ci:
        print("skip report: FAIL: %d skip(s) not in %s (tests/README.md \"Skips\")"
              % (bad, argv[1]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
