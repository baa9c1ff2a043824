#!/usr/bin/python3
"""real_text: the real-text mix that `make bench` and tests/tools/test_phase_a.sh
measure the tokenizer on (English prose and Python source: indentation, long
space runs, identifiers), assembled from files every Debian bookworm system
with python3 has.

    real_text.py OUTDIR      writes OUTDIR/real_train.txt and OUTDIR/real_heldout.txt

The mix, in this order:
  - every file in /usr/share/common-licenses (base-files), sorted by name,
    symlinks followed, a file whose content equals an earlier one left out
    (GFDL, GPL, LGPL are links to a versioned file);
  - the Python 3.11 standard-library modules listed in PY_MODULES below
    (/usr/lib/python3.11/<name>.py, Debian's libpython3.11-minimal and
    libpython3.11-stdlib): every top-level module except the two
    platform-specific _sysconfigdata files and sitecustomize.py (a link into
    /etc). About 5 MB in all.
A listed file that is missing is an error (exit 2), never silently skipped, so
two machines with the same package versions measure the same text, and others
say why not.

Split: the last tenth of each file's lines (n // 10 of n lines) is held out;
the rest is the training text. Files are kept whole otherwise, so the held-out
part is text of the same kind that training never saw.
"""
import hashlib
import os
import sys

LICENSES = "/usr/share/common-licenses"
PY_DIR = "/usr/lib/python3.11"
PY_MODULES = """
    __future__ __hello__ _aix_support _bootsubprocess _collections_abc _compat_pickle _compression
    _distutils_system_mod _markupbase _osx_support _py_abc _pydecimal _pyio _sitebuiltins _strptime
    _threading_local _weakrefset abc aifc antigravity argparse ast asynchat asyncore base64 bdb
    bisect bz2 cProfile calendar cgi cgitb chunk cmd code codecs codeop colorsys compileall
    configparser contextlib contextvars copy copyreg crypt csv dataclasses datetime decimal difflib
    dis doctest enum filecmp fileinput fnmatch fractions ftplib functools genericpath getopt getpass
    gettext glob graphlib gzip hashlib heapq hmac imaplib imghdr imp inspect io ipaddress keyword
    linecache locale lzma mailbox mailcap mimetypes modulefinder netrc nntplib ntpath nturl2path
    numbers opcode operator optparse os pathlib pdb pickle pickletools pipes pkgutil platform
    plistlib poplib posixpath pprint profile pstats pty py_compile pyclbr pydoc queue quopri random
    reprlib rlcompleter runpy sched secrets selectors shelve shlex shutil signal site smtpd smtplib
    sndhdr socket socketserver sre_compile sre_constants sre_parse ssl stat statistics string
    stringprep struct subprocess sunau symtable sysconfig tabnanny tarfile telnetlib tempfile
    textwrap this threading timeit token tokenize trace traceback tracemalloc tty turtle types
    typing uu uuid warnings wave weakref webbrowser xdrlib zipapp zipfile zipimport
""".split()


def sources():
    if not os.path.isdir(LICENSES):
        print(f"real_text: {LICENSES} missing (Debian's base-files package)", file=sys.stderr)
        sys.exit(2)
    paths = [os.path.join(LICENSES, f) for f in sorted(os.listdir(LICENSES))]
    paths += [os.path.join(PY_DIR, m + ".py") for m in sorted(PY_MODULES)]
    seen = set()
    for p in paths:
        try:
            with open(p, "rb") as f:
                b = f.read()
        except OSError as e:
            print(f"real_text: {p}: {e.strerror} (needs Debian's base-files, "
                  "libpython3.11-minimal and libpython3.11-stdlib)", file=sys.stderr)
            sys.exit(2)
        h = hashlib.sha256(b).digest()
        if h in seen:
            continue
        seen.add(h)
        yield b


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        sys.exit(0 if sys.argv[1:] == ["--help"] else 2)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    train, held = [], []
    for b in sources():
        lines = b.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        k = len(lines) - len(lines) // 10
        train += lines[:k]
        held += lines[k:]
    for name, lines in (("real_train.txt", train), ("real_heldout.txt", held)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"".join(l + b"\n" for l in lines))


if __name__ == "__main__":
    main()
