#!/usr/bin/env python3
"""How JUnit XML consumers read a report: prints one JSON object for the file given.

Used by tests/it/junit.rs to check the XML `resultpipe junit` writes with parsers that
are not ours: lxml (strict, as EnricoMi's publish-unit-test-result-action parses),
junitparser (PyPI; what that action builds on), and the reading rules of the consumers
that `../shared/specs/junit-xml.md` §3 describes (Jenkins, GitLab, dorny/test-reporter,
mikepenz/action-junit-report), applied to lxml's tree.

Each consumer's view is counts of testcases by state: {"tests", "passed", "failed",
"errors", "skipped", "retries"}, plus "ids" (classname + "." + name, sorted) where the
consumer names tests that way.

Needs `pip install lxml junitparser` (scripts/test.sh installs them).
"""

import json
import sys

import junitparser
from lxml import etree

RERUNS = ("flakyFailure", "flakyError", "rerunFailure", "rerunError")


def local(el):
    return etree.QName(el).localname


def suites_with_cases(root, nested):
    """Suites that directly hold testcases: every depth, or the root's level only."""
    if local(root) == "testsuite":
        top = [root]
    elif local(root) == "testsuites":
        top = [s for s in root if local(s) == "testsuite"]
    else:
        raise ValueError(f"root <{local(root)}> is not testsuites/testsuite")
    out = []
    stack = list(reversed(top))
    while stack:
        s = stack.pop()
        out.append(s)
        if nested:
            stack.extend(reversed([c for c in s if local(c) == "testsuite"]))
    return out


def cases(suite):
    return [c for c in suite if local(c) == "testcase"]


def children(case):
    return {local(c) for c in case if isinstance(c.tag, str)}


def state(case, precedence):
    """The state of the first child kind in `precedence` the case has, else passed."""
    kinds = children(case)
    return next((st for kind, st in precedence if kind in kinds), "passed")


def tally(states):
    view = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    for s in states:
        view["tests"] += 1
        view[s] += 1
    return view


# Jenkins' CaseResult: a skipped child first, then error (its stack trace), then failure
JENKINS = (("skipped", "skipped"), ("error", "errors"), ("failure", "failed"))
# GitLab: failure > error > skipped
GITLAB = (("failure", "failed"), ("error", "errors"), ("skipped", "skipped"))
# dorny/test-reporter, mikepenz/action-junit-report: failure and error are one state
GITHUB = (("failure", "failed"), ("error", "failed"), ("skipped", "skipped"))


def jenkins(root):
    # nested suites recursed; flaky/rerun lists kept, not counted
    return tally(state(c, JENKINS) for s in suites_with_cases(root, nested=True)
                 for c in cases(s))


def gitlab(root):
    # nested suites recursed; duplicate (suite, classname, name) keep the first
    states, seen = [], set()
    for s in suites_with_cases(root, nested=True):
        for c in cases(s):
            key = (s.get("name"), c.get("classname"), c.get("name"))
            if key not in seen:
                seen.add(key)
                states.append(state(c, GITLAB))
    return tally(states)


def dorny(root):
    # java-junit-parser.ts: one level of suites; time = parseFloat(time) * 1000
    states = []
    for s in suites_with_cases(root, nested=False):
        for c in cases(s):
            float(c.get("time", "0"))
            states.append(state(c, GITHUB))
    return tally(states)


def mikepenz(root):
    # nested suites; a repeated testcase is a retry (the last run counts); flaky*
    # children count as retries; status="disabled"|"ignored" is skipped
    last, retries = {}, 0
    for s in suites_with_cases(root, nested=True):
        for c in cases(s):
            key = (c.get("classname"), c.get("name"))
            if key in last:
                retries += 1
            retries += sum(1 for x in c if isinstance(x.tag, str) and local(x) in RERUNS)
            last[key] = state(c, GITHUB)
            if last[key] == "passed" and c.get("status") in ("disabled", "ignored"):
                last[key] = "skipped"
    view = tally(last.values())
    view["retries"] = retries
    view["ids"] = sorted(f"{c}.{n}" if c else n for (c, n) in last)
    return view


def with_junitparser(path):
    # what EnricoMi's action builds on: JUnitXml.fromfile, suites, cases, results
    xml = junitparser.JUnitXml.fromfile(path)
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    states, ids, declared = [], [], {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for k in declared:
            declared[k] += int(getattr(suite, k) or 0)
        for case in suite:
            kinds = {type(r).__name__ for r in case.result}
            states.append(next((st for kind, st in (("Failure", "failed"), ("Error", "errors"),
                                                    ("Skipped", "skipped")) if kind in kinds),
                               "passed"))
            float(case.time)
            ids.append(f"{case.classname}.{case.name}" if case.classname else case.name)
    view = tally(states)
    view["ids"] = sorted(ids)
    view["declared"] = declared
    return view


def main(path):
    # strict: no recovery, no entity resolution, no network (as the action's lxml)
    parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True,
                             huge_tree=True)
    root = etree.parse(path, parser).getroot()
    print(json.dumps({
        "root": local(root),
        "jenkins": jenkins(root),
        "gitlab": gitlab(root),
        "dorny": dorny(root),
        "mikepenz": mikepenz(root),
        "junitparser": with_junitparser(path),
    }, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
