#!/usr/bin/env python3
"""mutate.py - mutation testing of the C core and the POSIX host (opt-in, not part of mvn verify).

    python3 native/mutate/mutate.py                 # default: 40 mutants, seed 16, 2 jobs, then ITs (no load tests)
    python3 native/mutate/mutate.py --sample 5      # a quick look while developing
    python3 native/mutate/mutate.py --list          # every mutation site, nothing run
    python3 native/mutate/mutate.py --no-it         # the C tests only

Mutation sites are found, at run time, in whatever native/src/core/*.c and native/src/posix/*.c
exist. Operators (one change per mutant):
    cmp-negate    ==  !=  <  >=  >  <=  flipped to their negation
    cmp-boundary  <  <=  >  >=  moved by one (off-by-one)
    const         a decimal literal n -> n+1 and n-1
    del-assign    a statement that assigns (=, op=, ++, --) deleted
    swap-branches an if's condition negated (its then and else swap)
    early-return  return; / return 0; / return NULL; as a function's first statement
A fixed, seeded sample (--sample, --seed) of all sites is run. Each mutant is a copy of native/
with one file changed, built and run by native/test/run-tests.sh (no sanitizer, stops at the
first failing program). A mutant that does not compile is not counted. Survivors are then built
into libwsdx.so and run against the integration tests (integration-tests/, JUnit, the library
given by -Dwsdx.library.path). Prints the score and every survivor (file:line, operator, the
changed line); the worktree itself is never modified.

Survivors judged equivalent (no test can tell them from the original) are listed, with the reason,
in native/mutate/equivalent.txt; they are matched by file, operator and the changed line's text
(not its number), marked in the output, and counted apart: the score is printed both over all
mutants and over those that are not listed as equivalent. A listed mutant that a test kills is
reported (the list is wrong about it).
"""
import argparse
import concurrent.futures as cf
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.dirname(HERE)
ROOT = os.path.dirname(NATIVE)
SRC_DIRS = ("src/core", "src/posix")
# what libwsdx.so is built from (as native/test/run-tests.sh and the NAR build): src/bsd is the
# BSD-sockets layer under the POSIX host, compiled in but not mutated
BUILD_DIRS = ("src/core", "src/bsd", "src/posix")

NEGATE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
BOUNDARY = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}
CMP_RE = re.compile(r"(?<![<>=!\-])(==|!=|<=|>=|<|>)(?![<>=])")
INT_RE = re.compile(r"(?<![\w.])(\d+)(?![\w.])")
ASSIGN_RE = re.compile(r"^\s*[\w\->.\[\]*() ]+?(=(?!=)|\+=|-=|\|=|&=|\*=|/=|<<=|>>=|\+\+|--)[^;]*;\s*$")
DECL_RE = re.compile(r"^\s*(static\s+|const\s+|unsigned\s+|struct\s+|enum\s+)*"
                     r"(int|long|size_t|ssize_t|char|uint\d+_t|int\d+_t|wsdx_\w+|sock|slot|listener|"
                     r"socklen_t|void|uint8_t|u?int|bool|double|float)\b[\s*]+\w+(\[[^\]]*\])?\s*=")
FUNC_RE = re.compile(r"^(static\s+)?(inline\s+)?([A-Za-z_][\w ]*?[\s*]+)(\w+)\(([^;]*)\)\s*$")


def code_spans(lines):
    """For each line, the code part (comments and strings blanked to spaces), or None to skip."""
    out, in_block = [], False
    for line in lines:
        if line.lstrip().startswith("#"):
            out.append(None)
            continue
        chars, i, n = list(line), 0, len(line)
        while i < n:
            if in_block:
                end = line.find("*/", i)
                stop = n if end < 0 else end + 2
                chars[i:stop] = " " * (stop - i)
                in_block = end < 0
                i = stop
            elif line.startswith("/*", i):
                in_block = True
            elif line.startswith("//", i):
                chars[i:] = " " * (n - i)
                break
            elif line[i] in "\"'":
                q, j = line[i], i + 1
                while j < n and line[j] != q:
                    j += 2 if line[j] == "\\" else 1
                chars[i:j + 1] = " " * (min(j + 1, n) - i)
                i = j + 1
            else:
                i += 1
        out.append("".join(chars))
    return out


def matching_paren(code, open_at):
    depth = 0
    for k in range(open_at, len(code)):
        if code[k] == "(":
            depth += 1
        elif code[k] == ")":
            depth -= 1
            if depth == 0:
                return k
    return -1


def return_for(rtype):
    t = rtype.strip()
    if "*" in t:
        return "return NULL;"
    if re.fullmatch(r"(static\s+)?(inline\s+)?void", t):
        return "return;"
    return "return 0;"


def sites_in(rel, lines):
    """Every mutant of one file: (rel, line index, operator, new line text, old line text)."""
    found = []
    spans = code_spans(lines)
    for i, code in enumerate(spans):
        if code is None or not code.strip():
            continue
        line = lines[i]
        for m in CMP_RE.finditer(code):
            op = m.group(1)
            for kind, table in (("cmp-negate", NEGATE), ("cmp-boundary", BOUNDARY)):
                if op in table:
                    found.append((rel, i, kind, line[:m.start()] + table[op] + line[m.end():], line))
        for m in INT_RE.finditer(code):
            v = int(m.group(1))
            for d in (1, -1):
                found.append((rel, i, "const", line[:m.start()] + str(v + d) + line[m.end():], line))
        if ASSIGN_RE.match(code) and not DECL_RE.match(code) and not code.strip().startswith(("return", "if", "for", "while")):
            found.append((rel, i, "del-assign", re.match(r"^\s*", line).group(0) + ";\n", line))
        for m in re.finditer(r"\bif\s*\(", code):
            close = matching_paren(code, m.end() - 1)
            if close > 0:
                new = line[:m.end()] + "!(" + line[m.end():close] + ")" + line[close:]
                found.append((rel, i, "swap-branches", new, line))
        fm = FUNC_RE.match(code)
        if fm and i + 1 < len(lines) and lines[i + 1].strip() == "{" and fm.group(4) not in ("if", "while", "for", "switch"):
            stmt = return_for((fm.group(1) or "") + (fm.group(2) or "") + fm.group(3))
            found.append((rel, i + 1, "early-return", "{ " + stmt + "\n", lines[i + 1]))
    return found


def all_sites():
    sites = []
    for d in SRC_DIRS:
        full = os.path.join(NATIVE, d)
        for name in sorted(os.listdir(full)):
            if name.endswith(".c"):
                rel = d + "/" + name
                with open(os.path.join(NATIVE, rel)) as f:
                    sites += sites_in(rel, f.readlines())
    return sites


def copy_native(dst):
    for d in ("include", "src", "test"):
        shutil.copytree(os.path.join(NATIVE, d), os.path.join(dst, d))


def apply(tree, site):
    rel, i, _, new, _ = site
    path = os.path.join(tree, rel)
    with open(path) as f:
        lines = f.readlines()
    lines[i] = new
    with open(path, "w") as f:
        f.writelines(lines)


def run_c(site, work, timeout):
    """'killed', 'survived' or 'invalid' (does not compile), and the seconds it took."""
    t0 = time.time()
    tree = tempfile.mkdtemp(prefix="m", dir=work)
    try:
        copy_native(tree)
        apply(tree, site)
        env = dict(os.environ, WSDX_CTEST_BUILD_DIR=os.path.join(tree, "build"), WSDX_CTEST_JOBS="1",
                   WSDX_CTEST_FAIL_FAST="1", WSDX_CTEST_TIMEOUT=str(timeout), WSDX_CTEST_EXTRA_CFLAGS="")
        r = subprocess.run(["bash", os.path.join(tree, "test", "run-tests.sh")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if "library compile failed" in r.stdout:
            return "invalid", time.time() - t0
        return ("survived" if r.returncode == 0 else "killed"), time.time() - t0
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def build_so(tree, out):
    srcs = [os.path.join(tree, d, f) for d in BUILD_DIRS for f in sorted(os.listdir(os.path.join(tree, d)))
            if f.endswith(".c")]
    cmd = ["gcc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-fPIC", "-shared", "-fvisibility=hidden",
           "-I" + os.path.join(tree, "include")] + ["-I" + os.path.join(tree, d) for d in BUILD_DIRS] + \
          ["-o", out] + srcs + ["-lpthread"]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        why = r.stderr.strip().splitlines()
        print("libwsdx.so did not build: " + (why[0] if why else "gcc exit %d" % r.returncode), flush=True)
    return r.returncode == 0


def it_classpath(work):
    """Builds java-api and the integration tests once, in a copy of the repository (so that the
    worktree's target/ directories are never touched); returns their test class path."""
    repo = os.path.join(work, "repo")
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".git", "target", "mutate"))
    cpfile = os.path.join(work, "cp.txt")
    cmd = ["mvn", "-B", "-q", "-o", "-pl", "java-api,integration-tests", "-am", "-DskipTests",
           "-Dwsdx.skipDeps=true", "test-compile", "package",
           "dependency:build-classpath", "-Dmdep.includeScope=test", "-Dmdep.outputFile=" + cpfile]
    r = subprocess.run(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("mutate.py: building the integration tests failed:\n" + r.stdout[-3000:])
    with open(cpfile) as f:
        deps = f.read().strip()
    # the JUnit launcher of the same platform version (surefire brings its own; RunTests.java needs it)
    engine = [j for j in deps.split(os.pathsep) if "junit-platform-engine" in j]
    if engine:
        deps += os.pathsep + engine[0].replace("junit-platform-engine", "junit-platform-launcher")
    it = os.path.join(repo, "integration-tests", "target")
    return os.pathsep.join([os.path.join(it, "test-classes"), os.path.join(it, "classes"), deps])


def run_it(site, work, cp, select, exclude):
    t0 = time.time()
    tree = tempfile.mkdtemp(prefix="i", dir=work)
    try:
        copy_native(tree)
        apply(tree, site)
        so = os.path.join(tree, "libwsdx.so")
        if not build_so(tree, so):
            return "invalid", time.time() - t0, ""
        cmd = ["java", "-Dwsdx.library.path=" + so, "-cp", cp, os.path.join(HERE, "RunTests.java"), select, exclude]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
        if r.returncode == 0:
            return "survived", time.time() - t0, ""
        by = re.findall(r"methodName = '(\w+)'", r.stdout)
        return "killed", time.time() - t0, " by " + ",".join(sorted(set(by))[:3])
    except subprocess.TimeoutExpired:
        return "killed", time.time() - t0, " by a timeout"
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def load_equivalent():
    """{(file, operator, was, now): why} from equivalent.txt: blocks of 'file:', 'op:', 'was:',
    'now:' and 'why:' lines (the changed line's text, stripped), separated by blank lines."""
    table, entry = {}, {}
    path = os.path.join(HERE, "equivalent.txt")
    lines = open(path).read().split("\n") if os.path.exists(path) else []
    for line in lines + [""]:
        key, _, val = line.partition(":")
        if line.startswith("#"):
            continue
        if not line.strip():
            if entry:
                table[(entry["file"], entry["op"], entry["was"], entry["now"])] = entry["why"]
            entry = {}
        elif key in ("file", "op", "was", "now", "why"):
            entry[key] = val.strip()
        elif "why" in entry:
            entry["why"] += " " + line.strip()  # a reason may go on over several lines
    return table


def equivalent_reason(site, table):
    rel, i, kind, new, old = site
    if kind == "early-return":  # its line is a bare "{": the function's header names it
        with open(os.path.join(NATIVE, rel)) as f:
            old = f.readlines()[i - 1]
    return table.get((rel, kind, old.strip(), "(deleted)" if kind == "del-assign" else new.strip()))


def describe(site):
    rel, i, kind, new, old = site
    if kind == "del-assign":
        return "%s:%d %-13s deleted: %s" % (rel, i + 1, kind, old.strip())
    return "%s:%d %-13s %s  (was: %s)" % (rel, i + 1, kind, new.strip(), old.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=int, default=40, help="mutants to run (0 = every site)")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=60, help="seconds per C test program")
    ap.add_argument("--no-it", action="store_true", help="skip the integration tests for survivors")
    ap.add_argument("--it-select", default="dev.wsdx.it", help="package or class of integration tests")
    ap.add_argument("--it-exclude", default=r".*SoakTest|.*LeakTest",
                    help="class-name regex of integration tests left out (default: the two load tests, "
                         "a minute and more each; '' runs all)")
    ap.add_argument("--list", action="store_true", help="print every site and stop")
    ap.add_argument("--only", help="run only sites whose file:line contains this")
    a = ap.parse_args()

    sites = all_sites()
    if a.only:
        sites = [s for s in sites if a.only in "%s:%d" % (s[0], s[1] + 1)]
    if a.list:
        for s in sites:
            print(describe(s))
        print("%d sites" % len(sites))
        return 0
    chosen = sites if a.sample <= 0 or a.sample >= len(sites) else random.Random(a.seed).sample(sites, a.sample)
    chosen.sort(key=lambda s: (s[0], s[1], s[2]))
    print("mutate.py: %d sites in %s; running %d (seed %d, %d jobs)" %
          (len(sites), ", ".join(SRC_DIRS), len(chosen), a.seed, a.jobs), flush=True)
    work = tempfile.mkdtemp(prefix="wsdx-mutate-")
    t0 = time.time()
    results = {}
    try:
        with cf.ThreadPoolExecutor(a.jobs) as ex:
            futs = {ex.submit(run_c, s, work, a.timeout): s for s in chosen}
            for f in cf.as_completed(futs):
                s = futs[f]
                verdict, secs = f.result()
                results[s] = verdict
                print("  C  %-8s %5.1fs  %s" % (verdict, secs, describe(s)), flush=True)
        survivors = [s for s in chosen if results[s] == "survived"]
        if survivors and not a.no_it:
            print("mutate.py: %d survivor(s) of the C tests -> integration tests" % len(survivors), flush=True)
            cp = it_classpath(work)
            with cf.ThreadPoolExecutor(a.jobs) as ex:
                futs = {ex.submit(run_it, s, work, cp, a.it_select, a.it_exclude): s for s in survivors}
                for f in cf.as_completed(futs):
                    s = futs[f]
                    verdict, secs, by = f.result()
                    results[s] = verdict if verdict != "killed" else "killed-it"
                    print("  IT %-8s %5.1fs  %s%s" % (verdict, secs, describe(s), by), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    valid = [s for s in chosen if results[s] != "invalid"]
    by_c = sum(1 for s in valid if results[s] == "killed")
    by_it = sum(1 for s in valid if results[s] == "killed-it")
    left = [s for s in valid if results[s] == "survived"]
    n = len(valid) or 1
    print("\n== mutation score: %d of %d killed (%.1f%%); C tests %d, integration tests %d more; "
          "%d did not compile; %.0f s" % (by_c + by_it, len(valid), 100.0 * (by_c + by_it) / n, by_c, by_it,
                                           len(chosen) - len(valid), time.time() - t0))
    print("== C tests alone: %.1f%%" % (100.0 * by_c / n))
    equiv = load_equivalent()
    listed = [s for s in valid if equivalent_reason(s, equiv)]
    m = len(valid) - sum(1 for s in listed if results[s] == "survived")
    print("== over the %d mutants not listed as equivalent (equivalent.txt): %d killed (%.1f%%)" %
          (m, by_c + by_it, 100.0 * (by_c + by_it) / (m or 1)))
    for s in left:
        why = equivalent_reason(s, equiv)
        print("   survived: " + describe(s) + ("\n             equivalent: " + why if why else ""))
    for s in listed:
        if results[s] != "survived":
            print("   listed as equivalent but %s: %s" % (results[s], describe(s)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
