"""A web server on 127.0.0.1 (or ::1) for the tests: routes of (status, headers, body), or functions
that write the whole answer themselves. Nothing in the tests goes beyond 127.0.0.1."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Callable, Iterator

__all__ = ["STORY", "Route", "Site", "answer", "publish_feed", "serve", "story_page"]

# A route: (status, headers, body), or a function that writes the whole answer itself.
Route = tuple[int, dict[str, str], bytes] | Callable[[http.server.BaseHTTPRequestHandler], None]


def answer(
    handler: http.server.BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
) -> None:
    """Write a whole answer (for a route function that waits or decides first)."""
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request a connection; a body ends when it closes

    def do_GET(self) -> None:
        server: Site = self.server  # type: ignore[assignment]
        server.requests.append((self.path, self.headers.get("User-Agent")))
        route = server.routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"not here"))
        if callable(route):
            with contextlib.suppress(OSError):  # the client hung up, as it may
                route(self)
            return
        answer(self, *route)

    def log_message(self, *args: object) -> None:
        pass


class Site(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still trickling to a client that gave up is not waited for

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1") -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, 0), _Handler)
        self.routes = routes
        self.requests: list[tuple[str, str | None]] = []

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str) -> str:
        host = self.server_address[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}{path}"


@contextlib.contextmanager
def serve(routes: dict[str, Route], host: str = "127.0.0.1") -> Iterator[Site]:
    """The site on `host` (127.0.0.1, or ::1 for IPv6) at a free port."""
    site = Site(routes, host)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.shutdown()
        site.server_close()


# A news story page: the headline and first paragraph given, two more paragraphs after them.
STORY = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1><p>{first}</p>"
    "<p>The council will publish its full report next month, a spokesperson said on "
    "Friday.</p><p>Residents can comment on the plans at the library until the end of the "
    "year.</p></article></body></html>"
)


def story_page(site: Site, path: str, title: str, first: str) -> None:
    """A news story at `path` with this title and first paragraph."""
    body = STORY.format(title=title, first=first).encode()
    site.routes[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, body)


def publish_feed(site: Site, path: str, items: list[tuple[str, str, str]]) -> None:
    """An RSS feed at `path` of these items (slug, title, first paragraph; newest first), each
    linking to its story on the same site."""
    entries = "".join(
        f"<item><title>{title}</title><link>{site.url('/story/' + slug)}</link></item>"
        for slug, title, _ in items
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Valley Times</title>'
        f"<link>{site.url('/')}</link><description>News</description>{entries}</channel></rss>"
    )
    site.routes[path] = (200, {"Content-Type": "application/rss+xml"}, feed.encode())
    for slug, title, first in items:
        story_page(site, f"/story/{slug}", title, first)
