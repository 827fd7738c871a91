#!/usr/bin/env python3
"""Program outputs shown in the docs: regenerate them from real runs, or check them against a run.

Every output block of a tutorial step in docs/*.md is a fenced code block right after a marker
that names the command which printed it:

    <!-- output: tutorial_1_step4_train -->
    ```
    $ build/tutorials/1_multi_cpu/tutorial_1_step4_train
    == Step 4a: ...
    ```

Marker syntax: `<!-- output: COMMAND [; COMMAND ...] [(FLAG)...] -->` on the line just before the
opening fence. COMMAND is `[VAR=value ...] program [argument ...]` (shell words); `program` is a
name looked up in the build directory (tutorials/*/, benchmarks/, tests/) and run from the
repository root, with the variables added to the environment. Several commands separated by `;`
share one block, each output after its own `$ ...` line. FLAGs:
  (slow)               takes long (tens of seconds): the checker skips it; `regenerate --slow` runs it
  (gpu)                needs a GPU: the checker skips it; `regenerate --gpu` runs it
  (varies: A | B ...)  phrases the program chooses from what it measured (which setting won, ...):
                       any of them may stand where another did; the checker treats them as one
                       (a phrase holds no ')' and no '|')

`regenerate` runs each marked command and replaces the block with `$ COMMAND` and the output
(stdout and stderr together, as a terminal shows them). `check` runs each and compares it with the
block after masking what varies between runs: every number (integers, decimals, exponents, with a
k/M/G suffix, percentages, durations with their unit) becomes one placeholder on both sides, runs
of spaces and tabs count as one space (table columns move with the width of the numbers), lines of
several ranks (`[rank k] ...`) are compared rank by rank (the ranks print concurrently), and the
`varies` phrases become one placeholder. Everything else must match line by line. A fenced block
that shows a tutorial step's output (`$ ... tutorial_...`) without a marker is an error.

Usage:
  doc_outputs.py regenerate [--slow] [--gpu] --build DIR DOC.md...
  doc_outputs.py check --build DIR DOC.md...
  doc_outputs.py check --skip REASON DOC.md...   (prints the reason, exit code 77: ctest's skip)
"""
import argparse
import difflib
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- output: (?P<body>.*?) -->\s*$")
FENCE = "```"
FLAG = re.compile(r"\s*\((?:(?P<word>slow|gpu)|varies:\s*(?P<phrases>.*?))\)\s*")
ENV_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SEARCH_DIRS = ["tutorials/*", "benchmarks", "tests"]
SKIP_EXIT = 77

# A number as the programs print it: optional sign (not inside a word), digits with an optional
# fraction, or a bare fraction, an optional exponent, then one of: a k/M/G multiplier, a percent
# sign, or a duration unit (with or without a space before it), so that "980 us" and "1.2 ms" are
# the same placeholder. Other units (MiB, GB/s, samples/s) stay text. The second alternative masks
# digits inside words too (fc1, 3x32x32, port numbers after a colon).
NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
    r"(?:[kMG](?![A-Za-z])|%|\s?(?:ns|us|µs|ms|s)(?![A-Za-z]))?"
    r"|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
RANK_LINE = re.compile(r"^\[rank (\d+)\] ")


class Block:
    """One marked output block: the marker's line index, its commands and flags, its content."""

    def __init__(self, doc, marker_line, body):
        self.doc, self.marker_line, self.body = doc, marker_line, body
        self.flags, self.varies = set(), []
        command_text = body
        first_flag = re.search(r"\s\((?:slow|gpu|varies:)", body)
        if first_flag:
            command_text, rest = body[:first_flag.start()], body[first_flag.start():]
            pos = 0
            while pos < len(rest):
                m = FLAG.match(rest, pos)
                if not m:
                    raise DocError(doc, marker_line, f"cannot read the flags '{rest.strip()}'")
                if m.group("word"):
                    self.flags.add(m.group("word"))
                else:
                    self.varies += [p.strip() for p in m.group("phrases").split("|") if p.strip()]
                pos = m.end()
        self.commands = []
        for text in command_text.split(";"):
            words = shlex.split(text)
            env = []
            while words and ENV_WORD.match(words[0]):
                env.append(words.pop(0))
            if not words:
                raise DocError(doc, marker_line, f"no program in '{text.strip()}'")
            self.commands.append((env, words[0], words[1:]))

    def where(self):
        return f"{shown_path(self.doc)}:{self.marker_line + 1}"

    def label(self):
        return "; ".join(shlex.join(env + [program] + args) for env, program, args in self.commands)


class DocError(Exception):
    def __init__(self, doc, line, message):
        super().__init__(f"{shown_path(doc)}:{line + 1}: {message}")


def shown_path(doc):
    """A document's path relative to the repository root where it is inside it."""
    path = pathlib.Path(doc).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(doc)


def find_blocks(doc, lines):
    """The marked blocks of a document: (Block, first content line, closing fence line, key).

    The key, (marker text, how many markers with that text came before), finds a block again
    after others edited the file."""
    found, seen = [], {}
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        if i + 1 >= len(lines) or lines[i + 1].rstrip() != FENCE:
            raise DocError(doc, i, "an output marker must be followed at once by an opening ``` line")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].rstrip() == FENCE), None)
        if end is None:
            raise DocError(doc, i, "the block after this marker is not closed")
        body = m.group("body")
        seen[body] = seen.get(body, 0) + 1
        found.append((Block(doc, i, body), i + 2, end, (body, seen[body])))
    return found


def unmarked_step_blocks(doc, lines):
    """Fenced blocks that show a tutorial step's output but have no marker before them."""
    problems, i = [], 0
    while i < len(lines):
        if lines[i].rstrip().startswith(FENCE):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == FENCE), len(lines))
            first = lines[i + 1] if i + 1 < len(lines) else ""
            marked = i > 0 and MARKER.match(lines[i - 1])
            if not marked and first.startswith("$ ") and "tutorial_" in first:
                problems.append(f"{shown_path(doc)}:{i + 1}: output block of '{first[2:].strip()}' has no <!-- output: ... --> marker")
            i = end + 1
        else:
            i += 1
    return problems


def locate(build, program):
    for pattern in SEARCH_DIRS:
        for candidate in sorted(build.glob(f"{pattern}/{program}")):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


def run(block, build, timeout):
    """Runs the block's commands; returns the lines the block should hold, and the exit codes."""
    lines, codes = [], []
    for env, program, args in block.commands:
        path = locate(build, program)
        if path is None:
            raise RuntimeError(f"{block.where()}: {program} not found in {build} "
                               f"(build it: ninja -C {build} {program})")
        shown = "build/" + path.relative_to(build).as_posix()
        lines.append("$ " + shlex.join(env + [shown] + args))
        environment = dict(os.environ)
        environment.update(word.split("=", 1) for word in env)
        try:
            done = subprocess.run([str(path)] + args, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{block.where()}: '{block.label()}' ran past {timeout} s") from None
        output = done.stdout.decode("utf-8", errors="replace").rstrip("\n")
        lines += [line.rstrip() for line in output.split("\n")] if output else []
        codes.append(done.returncode)
    return lines, codes


def normalise(lines, varies):
    """The stable part of an output: varying phrases, ranks' interleaving, numbers and spacing masked."""
    phrases = sorted(varies, key=len, reverse=True)
    grouped = []
    for index, line in enumerate(lines):
        for phrase in phrases:
            line = line.replace(phrase, "<varies>")
        rank = RANK_LINE.match(line)
        grouped.append((int(rank.group(1)) if rank else -1, index, line))
    if any(rank >= 0 for rank, _, _ in grouped):
        grouped.sort()
    result = []
    for _, _, line in grouped:
        line = NUMBER.sub("<n>", line)
        result.append(re.sub(r"[ \t]+", " ", line).rstrip())
    return result


def skipped_because(block, asked):
    for flag, why in (("gpu", "needs a GPU"), ("slow", "takes long")):
        if flag in block.flags and flag not in asked:
            return f"{why}; refresh with: bash docs/regenerate_outputs.sh --{flag}"
    return None


def regenerate(args):
    asked = {flag for flag in ("slow", "gpu") if getattr(args, flag)}
    failed = False
    for doc in args.docs:
        path = pathlib.Path(doc)
        blocks = find_blocks(doc, path.read_text(encoding="utf-8").split("\n"))
        new_content = {}
        for block, _, _, key in blocks:
            why = skipped_because(block, asked)
            if why:
                print(f"skip  {block.where()}  {block.label()}  ({why})")
                continue
            try:
                content, codes = run(block, args.build, args.timeout)
            except RuntimeError as error:
                print(f"error: {error}", file=sys.stderr)
                failed = True
                continue
            note = "" if not any(codes) else f"  (exit code {', '.join(map(str, codes))})"
            print(f"ran   {block.where()}  {block.label()}{note}")
            new_content[key] = content
        if new_content:
            write_blocks(path, new_content)
    return 1 if failed else 0


def write_blocks(path, new_content):
    """Replaces the blocks in the file as it is now: others may have edited it during the runs."""
    old = path.read_text(encoding="utf-8")
    lines = old.split("\n")
    for _, start, end, key in reversed(find_blocks(str(path), lines)):
        if key in new_content:
            lines[start:end] = new_content[key]
    text = "\n".join(lines)
    if text != old:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=path.name + ".tmp-",
                                         delete=False) as out:
            out.write(text)
        os.chmod(out.name, path.stat().st_mode)
        os.replace(out.name, path)
        print(f"wrote {shown_path(path)}")


def check(args):
    if args.skip:
        print(f"skipped: {args.skip}")
        return SKIP_EXIT
    failures = 0
    for doc in args.docs:
        lines = pathlib.Path(doc).read_text(encoding="utf-8").split("\n")
        problems = unmarked_step_blocks(doc, lines)
        for problem in problems:
            print(f"FAIL  {problem}")
        failures += len(problems)
        blocks = find_blocks(doc, lines)
        if not blocks:
            print(f"FAIL  {shown_path(doc)}: no <!-- output: ... --> markers")
            failures += 1
        for block, start, end, _ in blocks:
            why = skipped_because(block, set())
            if why:
                print(f"skip  {block.where()}  {block.label()}  ({why})")
                continue
            try:
                content, codes = run(block, args.build, args.timeout)
            except RuntimeError as error:
                print(f"FAIL  {error}")
                failures += 1
                continue
            expected, got = normalise(lines[start:end], block.varies), normalise(content, block.varies)
            if expected == got:
                print(f"ok    {block.where()}  {block.label()}")
                continue
            failures += 1
            print(f"FAIL  {block.where()}  {block.label()}: the output no longer matches the block "
                  f"(numbers masked as <n>; exit code {', '.join(map(str, codes))})")
            sys.stdout.writelines(line + "\n" for line in difflib.unified_diff(
                expected, got, "in the doc", "this run", lineterm="", n=2))
            print("this run printed:")
            sys.stdout.writelines(f"  | {line}\n" for line in content)
            print(f"if the new output is right: bash docs/regenerate_outputs.sh {args.build} {shown_path(doc)}")
    print(f"{failures} block(s) failed" if failures else "all checked blocks match")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for name in ("regenerate", "check"):
        p = sub.add_parser(name)
        p.add_argument("--build", type=lambda s: pathlib.Path(s).resolve(), default=ROOT / "build",
                       help="build directory holding the programs (default: build/)")
        p.add_argument("--timeout", type=float, default=600, help="seconds per command (default 600)")
        p.add_argument("docs", nargs="+", help="Markdown files")
        if name == "regenerate":
            p.add_argument("--slow", action="store_true", help="also run the blocks marked (slow)")
            p.add_argument("--gpu", action="store_true", help="also run the blocks marked (gpu)")
        else:
            p.add_argument("--skip", metavar="REASON", help="check nothing: print REASON, exit 77")
    args = parser.parse_args()
    try:
        return regenerate(args) if args.action == "regenerate" else check(args)
    except (DocError, OSError) as error:
        print(f"doc_outputs.py: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
