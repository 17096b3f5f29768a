#!/usr/bin/env python3
"""Does serving big /wiki pages grow the server's heap?

Starts `BINARY serve --dump DUMP --workers 1` (the index must exist beside the
dump), asks for 50 small pages, reads the server's anonymous resident memory
(RssAnon: heap and stacks), asks three times for every page of at least
MIN_BYTES (default 65536), and reads it again. The soak's RSS steps were this:
glibc raises its mmap threshold each time it frees a buffer that had a mapping
of its own, after which buffers that large stay on the heap.

    benches/soak/heap_steps.py BINARY DUMP [MIN_BYTES]
"""
import html
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

PORT = 28811


def main():
    binary, dump = sys.argv[1], sys.argv[2]
    min_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 64 << 10
    data = open(dump, 'rb').read()
    pages = []
    for m in re.finditer(rb'<page>\s*<title>([^<]*)</title>', data):
        end = data.index(b'</page>', m.start()) + len(b'</page>')
        pages.append((end - m.start(), html.unescape(m.group(1).decode())))
    big = [title for size, title in pages if size >= min_bytes]
    server = subprocess.Popen([binary, 'serve', '--dump', dump, '--bind', f'127.0.0.1:{PORT}', '--workers', '1'],
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f'http://127.0.0.1:{PORT}/healthz').read()
                break
            except OSError:
                time.sleep(0.05)

        def rss_anon_kib():
            for line in open(f'/proc/{server.pid}/status'):
                if line.startswith('RssAnon:'):
                    return int(line.split()[1])

        def fetch(title):
            quoted = urllib.parse.quote(title.replace(' ', '_'), safe='')
            urllib.request.urlopen(f'http://127.0.0.1:{PORT}/wiki/{quoted}?redirect=no').read()

        for _, title in [p for p in pages if p[0] < 16 << 10][:50]:
            fetch(title)
        before = rss_anon_kib()
        for _ in range(3):
            for title in big:
                fetch(title)
        after = rss_anon_kib()
        print(f'{binary}: {len(big)} pages of {min_bytes} bytes or more, 3 times: '
              f'RssAnon {before} -> {after} KiB ({after - before:+} KiB)')
    finally:
        server.terminate()
        server.wait()


if __name__ == '__main__':
    main()
