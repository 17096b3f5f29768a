"""REDbot (Mark Nottingham's HTTP linter, PyPI `redbot`) on one request.

    python redbot_check.py [-H 'Name: value']... URL

Run by benches/redbot.sh with the interpreter of a venv that has redbot.
REDbot's own CLI (`redbot URL`) sends no request headers of ours, and `/xml`
needs a `Range`, so this drives its library the way the CLI does, with the
headers added. Prints REDbot's text report, then one line per note worse than
informational (`FINDING <level> <category>: <summary>`), and exits 1 if there
is any.
"""

import argparse
import sys
from configparser import ConfigParser

import thor
from httplint.note import levels

from redbot.formatter import find_formatter
from redbot.resource import HttpResource

WORSE_THAN_INFO = (levels.WARN, levels.BAD)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("-H", dest="headers", action="append", default=[], metavar="NAME: VALUE")
    args = parser.parse_args()
    headers = []
    for header in args.headers:
        name, _, value = header.partition(":")
        headers.append((name.strip(), value.strip()))

    config = ConfigParser()
    # Loopback: REDbot refuses local addresses unless told otherwise.
    config.read_dict({"redbot": {"enable_local_access": "True"}})
    config = config["redbot"]
    resource = HttpResource(config)
    resource.set_request(args.url, headers=headers)
    formatter = find_formatter("text_verbose", "text", False)(
        config, resource, sys.stdout.write, {"tty_out": False, "descend": False}
    )
    formatter.bind_resource(resource)

    @thor.events.on(formatter)
    def formatter_done() -> None:
        thor.stop()

    resource.check()
    thor.run()

    if not resource.has_response:
        print(f"FINDING bad fetch: no answer ({resource.fetch_error})")
        return 1
    findings = []
    # Notes of the active checks (conditional requests, ranges, content
    # negotiation) are added to the main response's notes.
    for note in resource.response.notes:
        if note.level in WORSE_THAN_INFO:
            findings.append((note.level.value, note.category.value, note.summary))
        for sub in note.subnotes:
            if sub.level in WORSE_THAN_INFO:
                findings.append((sub.level.value, note.category.value, sub.summary))
    for level, category, summary in findings:
        print(f"FINDING {level} {category}: {summary}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
