#!/usr/bin/env python3
"""Patch mediasoup's worker sources to build offline against Debian 12 system libraries.

Usage: patch-worker.py WORKER_DIR

Every edit asserts that the text it rewrites was found, so a new mediasoup
version that moved things fails loudly here instead of half-building.
Changes:
  * meson.build: meson >= 1.0 (Debian 12 ships 1.0.1); every subproject()
    (they download wraps) becomes dependency() on a system library; only
    libwebrtc stays in link_whole; liburing disabled by default (Debian's
    liburing 2.3 lacks APIs the worker uses).
  * deps/libwebrtc/meson.build: same for its abseil subproject.
  * srtp.h includes -> srtp_compat.h (libsrtp 3 API on top of libsrtp2).
  * DtlsTransport.cpp: BIO callback must test the BIO_CB_RETURN bit, not
    compare for equality (see the comment written into the source).
"""
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def die(msg):
    sys.stderr.write(f'patch-worker: ERROR: {msg}\n')
    sys.exit(1)


class Source:
    def __init__(self, root, rel):
        self.rel = rel
        self.path = os.path.join(root, rel)
        if not os.path.isfile(self.path):
            die(f'{rel}: file not found')
        with open(self.path, encoding='utf-8') as f:
            self.text = f.read()

    def replace(self, old, new, count=1):
        n = self.text.count(old)
        if n != count:
            die(f'{self.rel}: expected {count} occurrence(s) of {old!r}, found {n}')
        self.text = self.text.replace(old, new)

    def sub(self, pattern, repl, min_count=1, max_count=None, flags=re.M | re.S):
        new, n = re.subn(pattern, repl, self.text, flags=flags)
        if n < min_count or (max_count is not None and n > max_count):
            die(f'{self.rel}: pattern {pattern!r} matched {n} time(s), '
                f'expected {min_count}..{max_count if max_count is not None else "n"}')
        self.text = new
        return n

    def save(self):
        with open(self.path, 'w', encoding='utf-8') as f:
            f.write(self.text)
        sys.stderr.write(f'patch-worker: patched {self.rel}\n')


# System replacements for the wraps. Names are the ones the upstream build
# files fetch with <proj>.get_variable('<name>'); see rewrite below.
SYSTEM_DEPS = """\
# --- flashcast: system libraries instead of downloaded wraps (Debian 12) ---
openssl_dep = dependency('openssl', version: '>= 3.0')
libuv_dep = dependency('libuv', version: '>= 1.44')
libsrtp3_dep = dependency('libsrtp2', version: '>= 2.4') # libsrtp 3 API via include/srtp_compat.h
usrsctp_dep = dependency('usrsctp')
flatbuffers_dep = dependency('flatbuffers')
absl_container_dep = declare_dependency(dependencies: [
  dependency('absl_flat_hash_map'),
  dependency('absl_flat_hash_set'),
  dependency('absl_inlined_vector'),
  dependency('absl_btree'),
])
absl_strings_dep = dependency('absl_strings')
absl_types_dep = declare_dependency(dependencies: [
  dependency('absl_optional'),
  dependency('absl_variant'),
])
# Catch2 v3 is only needed by the C++ unit tests (not built here).
catch2_dep = dependency('catch2-with-main', version: '>= 3', required: false)
# --- end flashcast ---

"""

EXPECTED_SUBPROJECTS = {'openssl', 'libuv', 'libsrtp3', 'usrsctp', 'abseil_cpp', 'catch2', 'flatbuffers'}

# A top-level (unindented) "<name>_proj = subproject(...)" block.
SUBPROJECT_BLOCK = r"^(\w+)_proj = subproject\(\n.*?^\)\n\n?"


def patch_main_meson(root):
    m = Source(root, 'meson.build')
    m.sub(r"meson_version:\s*'>=\s*1\.1\.0'", "meson_version: '>= 1.0.0'", max_count=1)

    found = set(re.findall(SUBPROJECT_BLOCK, m.text, flags=re.M | re.S))
    if found != EXPECTED_SUBPROJECTS:
        die(f'meson.build: subprojects found {sorted(found)}, expected {sorted(EXPECTED_SUBPROJECTS)}')
    # Put the system dependencies where the first subproject() block was and
    # drop all the blocks.
    first = re.search(SUBPROJECT_BLOCK, m.text, flags=re.M | re.S).start()
    m.text = m.text[:first] + SYSTEM_DEPS + m.text[first:]
    m.sub(SUBPROJECT_BLOCK, '', min_count=len(EXPECTED_SUBPROJECTS), max_count=len(EXPECTED_SUBPROJECTS))

    # link_whole: only our own static libwebrtc; system libs come in as deps.
    m.sub(r"^link_whole = \[\n.*?^\]\n", "link_whole = [\n  libwebrtc,\n]\n", max_count=1)
    # <proj>.get_variable('<name>')  ->  <name>  (defined in SYSTEM_DEPS).
    m.sub(r"\b(?:openssl|libuv|libsrtp3|usrsctp|abseil_cpp|catch2|flatbuffers)_proj\.get_variable\('(\w+)'\)",
          r"\1", min_count=7)
    leftover = re.findall(r"^.*\b(?:openssl|libuv|libsrtp3|usrsctp|abseil_cpp|catch2|flatbuffers)_proj\b.*$",
                          m.text, flags=re.M)
    if leftover:
        die(f'meson.build: unhandled subproject references: {leftover}')
    m.save()

    # Upstream's liburing comes from a wrap; keep it off unless asked for.

    o = Source(root, 'meson_options.txt')
    o.sub(r"(option\('ms_disable_liburing', type : 'boolean', value : )false", r"\1true", max_count=1)
    o.save()


def patch_libwebrtc_meson(root):
    w = Source(root, 'deps/libwebrtc/meson.build')
    w.sub(SUBPROJECT_BLOCK, '', max_count=1)
    w.sub(r"\b(?:openssl|libuv|abseil_cpp|flatbuffers)_proj\.get_variable\('(\w+)'\)", r"\1", min_count=4)
    if re.search(r"_proj\b", w.text):
        die('deps/libwebrtc/meson.build: unhandled subproject references remain')
    w.save()


def patch_srtp_includes(root):
    shutil.copyfile(os.path.join(HERE, 'srtp_compat.h'), os.path.join(root, 'include', 'srtp_compat.h'))
    sys.stderr.write('patch-worker: added include/srtp_compat.h\n')
    for rel in ('include/DepLibSRTP.hpp', 'include/RTC/SrtpSession.hpp'):
        s = Source(root, rel)
        s.replace('#include <srtp.h>', '#include "srtp_compat.h"')
        s.save()


def patch_dtls_bio_callback(root):
    d = Source(root, 'src/RTC/DtlsTransport.cpp')
    d.replace(
        'long resultOfcallback = (operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;',
        '// flashcast: OpenSSL passes e.g. BIO_CB_CTRL|BIO_CB_RETURN, so test the bit.\n'
        '\t// Comparing for equality made every BIO_ctrl() return 1, so with a kTLS\n'
        '\t// enabled OpenSSL BIO_get_ktls_send() said yes and SSL_read() crashed.\n'
        '\tlong resultOfcallback =\n'
        '\t  ((operationType & BIO_CB_RETURN) != 0) ? static_cast<long>(ret) : 1;')
    d.save()


def main():
    if len(sys.argv) != 2:
        die('usage: patch-worker.py WORKER_DIR')
    root = sys.argv[1]
    patch_main_meson(root)
    patch_libwebrtc_meson(root)
    patch_srtp_includes(root)
    patch_dtls_bio_callback(root)
    sys.stderr.write('patch-worker: all patches applied\n')


if __name__ == '__main__':
    main()
