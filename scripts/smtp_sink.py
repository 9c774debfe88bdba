#!/usr/bin/env python3
"""A local SMTP sink: a real SMTP server that stores every message it accepts.

`keel up` runs it as the demo mail sink, and the end-to-end tests run it as their
SMTP server (tests/src/smtp.rs), so e-mail notifications go through a real SMTP
conversation instead of a mock.

Each accepted message is written atomically to DIR/<12-digit sequence>-<uuid>.eml:
three lines the sink adds (X-Sink-Mail-From, X-Sink-Rcpt-To, X-Sink-Received-At),
then the message bytes exactly as received. Sequence numbers continue across
restarts on the same DIR. `--fail-first N` answers the first N messages with a
transient error, for testing retries. Prints `ready <port>` once listening.
`--exit-on-stdin-eof` makes it exit when stdin closes, so a test process that
dies without cleaning up (killed, aborted) takes its sink with it.

    python3 scripts/smtp_sink.py --port 2525 --dir /tmp/mail [--fail-first 1]
"""

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.smtp import SMTP

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # well above the 10 MB notifications may reach


class Sink:
    """The aiosmtpd handler: accepts every envelope and stores the message."""

    def __init__(self, directory: Path, fail_first: int, fail_reply: str):
        self.directory = directory
        self.fail_left = fail_first
        self.fail_reply = fail_reply
        # The largest sequence on disk plus one: the count of .eml files when the
        # sink wrote them all, and never a reused number if some were deleted.
        sequences = [int(p.name[:12]) for p in directory.glob("*.eml") if p.name[:12].isdigit()]
        self.next_sequence = max(sequences, default=-1) + 1

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.fail_left > 0:
            self.fail_left -= 1
            return self.fail_reply
        sequence = self.next_sequence
        self.next_sequence += 1
        added = (
            f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
            f"X-Sink-Rcpt-To: {','.join(envelope.rcpt_tos)}\r\n"
            f"X-Sink-Received-At: {time.time():.6f}\r\n"
        ).encode("utf-8")
        name = f"{sequence:012d}-{uuid.uuid4().hex}.eml"
        temporary = self.directory / (name + ".tmp")
        with open(temporary, "wb") as file:
            file.write(added)
            file.write(envelope.original_content)
        os.replace(temporary, self.directory / name)
        return "250 2.0.0 OK: stored"


async def serve(args: argparse.Namespace) -> None:
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    handler = Sink(directory, args.fail_first, f"{args.fail_code} {args.fail_message}")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="smtp-sink.localhost",  # never socket.getfqdn(): a DNS lookup per connection
            data_size_limit=MAX_MESSAGE_BYTES,
            decode_data=False,
            enable_SMTPUTF8=True,
        ),
        host=args.host,
        port=args.port,
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if args.exit_on_stdin_eof:
        def exit_at_eof() -> None:
            sys.stdin.buffer.read()  # returns once the parent closed the pipe or died
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=exit_at_eof, daemon=True).start()
    port = server.sockets[0].getsockname()[1]  # the chosen one when --port 0
    print(f"ready {port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True, help="where .eml files are written (created if missing)")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N",
                        help="answer the first N messages with a transient error")
    parser.add_argument("--fail-code", type=int, default=451)
    parser.add_argument("--fail-message", default="4.3.0 Try again later (smtp_sink --fail-first)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin closes (for a parent that may die without stopping us)")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
