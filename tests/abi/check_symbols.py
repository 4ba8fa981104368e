#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check that a shared library exports exactly what its public headers
declare, and that its linker version script says the same.

    check_symbols.py --lib LIB.so --map LIB.map --nm NM --readelf READELF
                     HEADER...

Four lists of names are compared:

  headers  functions (and extern variables) the headers declare; static
           inline functions, macros and typedefs are not symbols;
  map      the global: names of every node of the version script;
  dynsym   what `nm -D --defined-only` finds defined in the library;
  objects  the global definitions with default visibility (LIBIOVA_EXPORT)
           in the library's object files, in Meson's private directory
           LIB.p next to it.

Every difference is printed, both ways; the exit status is 1 if there is
one.  The exported symbols must also carry a version node of the map.
"""

import argparse
import os
import re
import subprocess
import sys


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def drop_balanced(text, opener):
    """Remove every `opener(...)`, parentheses balanced, e.g. attributes."""
    out = []
    i = 0
    pat = re.compile(opener + r"\s*\(")
    while True:
        m = pat.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:m.start()])
        depth = 0
        j = m.end() - 1
        while j < len(text):
            if text[j] == "(":
                depth += 1
            elif text[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        i = j + 1


def declarations(text):
    """Top-level declarations of a C header, bodies replaced by {}."""
    text = strip_comments(text)
    text = re.sub(r"\\\n", " ", text)
    text = "\n".join(line for line in text.split("\n")
                     if not line.lstrip().startswith("#"))
    text = re.sub(r'extern\s*"C"\s*\{', " ", text)
    text = drop_balanced(text, r"__attribute__")
    decls = []
    cur = []
    depth = 0
    for ch in text:
        if ch == "{":
            if depth == 0:
                cur.append("{")
            depth += 1
        elif ch == "}":
            if depth == 0:
                continue  # the end of extern "C" {
            depth -= 1
            if depth == 0:
                cur.append("}")
                head = "".join(cur)
                # A function definition ends at its body, with no ';'.
                if re.search(r"\)\s*\{\}$", head):
                    decls.append(" ".join(head.split()))
                    cur = []
        elif depth > 0:
            continue
        elif ch == ";":
            decls.append(" ".join("".join(cur).split()))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        sys.exit("unterminated declaration: " + " ".join("".join(cur).split()))
    return decls


IDENT = r"[A-Za-z_]\w*"


def declared_symbols(path):
    names = set()
    with open(path) as f:
        text = f.read()
    for d in declarations(text):
        words = re.findall(IDENT, d)
        if not words or words[0] == "typedef" or "static" in words:
            continue
        if re.search(r"\)\s*\{\}$", d):
            # A function defined in a header must be static inline.
            sys.exit("%s: a definition that is not static: %s" % (path, d))
        if "(" in d:
            head, rest = d.split("(", 1)
            m = re.match(r"\s*\*\s*(" + IDENT + r")\s*\)", rest)
            if m:  # a function pointer variable: T (*name)(args)
                names.add(m.group(1))
                continue
            m = re.search("(" + IDENT + r")\s*$", head)
            if not m:
                sys.exit("%s: cannot read: %s" % (path, d))
            names.add(m.group(1))
            continue
        # No parentheses: a forward declaration, a type definition
        # (struct x {...}), or a variable.
        if re.fullmatch(r"(struct|union|enum)\s+" + IDENT, d) or \
           d.endswith("}"):
            continue
        d = re.sub(r"=.*$", "", d)
        d = re.sub(r"\[[^]]*\]", "", d)
        m = re.search("(" + IDENT + r")\s*$", d)
        if m:
            names.add(m.group(1))
    return names


def map_symbols(path):
    """{name: node} of a version script's global: lists."""
    with open(path) as f:
        text = strip_comments(f.read())
    syms = {}
    errors = []
    for m in re.finditer(r"(" + IDENT + r"(?:\.\w+)*)\s*\{(.*?)\}\s*(" +
                         IDENT + r"(?:\.\w+)*)?\s*;", text, flags=re.S):
        node, body = m.group(1), m.group(2)
        section = "global"
        for item in body.split(";"):
            item = item.strip()
            m2 = re.match(r"(global|local)\s*:\s*(.*)$", item, flags=re.S)
            if m2:
                section, item = m2.group(1), m2.group(2).strip()
            if not item or section != "global":
                continue
            if not re.fullmatch(IDENT, item):
                errors.append("%s: %s: only plain names belong under "
                              "global:, not %r" % (path, node, item))
                continue
            if item in syms:
                errors.append("%s: %s is in both %s and %s" %
                              (path, item, syms[item], node))
            syms[item] = node
    return syms, errors


def dynamic_symbols(nm, lib):
    """{name: version or None} defined in the dynamic symbol table."""
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    syms = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[1] == "A":
            continue  # version node definitions are absolute symbols
        name, _, version = fields[2].partition("@")
        syms[name] = version.lstrip("@") or None
    return syms


def object_symbols(readelf, objdir):
    """Global definitions of default visibility in the object files: those
    of a directory, or the members of an archive."""
    if os.path.isfile(objdir):
        objs = [objdir]
    else:
        objs = sorted(os.path.join(objdir, f) for f in os.listdir(objdir)
                      if f.endswith(".o"))
    if not objs:
        sys.exit("no object files in " + objdir)
    out = subprocess.run([readelf, "-sW"] + objs, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    syms = set()
    for line in out.splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) == 8 and f[0].endswith(":") and \
           f[3] in ("FUNC", "OBJECT", "IFUNC", "TLS") and \
           f[4] in ("GLOBAL", "WEAK") and f[5] == "DEFAULT" and \
           f[6] != "UND":
            syms.add(f[7])
    return syms


def diff(problems, a_name, a, b_name, b):
    for what, names in (("%s but not %s" % (a_name, b_name), a - b),
                        ("%s but not %s" % (b_name, a_name), b - a)):
        if names:
            problems.append("%s (%d):\n    %s" %
                            (what, len(names), "\n    ".join(sorted(names))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--map", required=True)
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--readelf", default="readelf")
    ap.add_argument("--objects", help="the library's objects: an archive "
                    "or a directory (default: Meson's LIB.p)")
    ap.add_argument("headers", nargs="+")
    args = ap.parse_args()

    headers = set()
    for h in args.headers:
        headers |= declared_symbols(h)
    mapped, problems = map_symbols(args.map)
    dynsym = dynamic_symbols(args.nm, args.lib)
    objdir = args.objects or args.lib + ".p"
    if not os.path.exists(objdir):
        sys.exit("no object directory %s (Meson's private directory of the "
                 "library)" % objdir)
    objects = object_symbols(args.readelf, objdir)

    exported = set(dynsym)
    diff(problems, "declared in the headers", headers,
         "exported by the library", exported)
    diff(problems, "listed in the version script", set(mapped),
         "exported by the library", exported)
    diff(problems, "declared in the headers", headers,
         "listed in the version script", set(mapped))
    diff(problems, "LIBIOVA_EXPORT in the objects", objects,
         "listed in the version script", set(mapped))
    for name, version in sorted(dynsym.items()):
        if name in mapped and version != mapped[name]:
            problems.append("%s is exported with version %s, not %s" %
                            (name, version, mapped[name]))

    lib = os.path.basename(args.lib)
    if problems:
        print("%s: the exported symbols disagree:" % lib)
        for p in problems:
            print("  " + p)
        print("Declare, export (LIBIOVA_EXPORT) and list in %s every public "
              "function; a change of the list needs a note in docs/abi.md."
              % os.path.basename(args.map))
        return 1
    print("%s: %d symbols, as declared in %d headers and listed in %s" %
          (lib, len(exported), len(args.headers), os.path.basename(args.map)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
