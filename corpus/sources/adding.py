"""Adding an article from a link: fetch it safely, then store it in a collection."""

from __future__ import annotations

import datetime
import urllib.parse
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import SeedFileError
from ..ingest.loader import article_document
from ..models import Document
from .addresses import Network
from .fetch import Fetched, fetch
from .library import Library, LibraryError, StoredArticle

__all__ = ["add_fetched", "add_url", "linked_document"]


def add_url(
    library: Library,
    collection: str,
    url: str,
    *,
    private_networks: Iterable[Network] = (),
    published: datetime.date | None = None,
) -> tuple[StoredArticle, bool]:
    """Fetch `url` and add the article it holds (FetchError or LibraryError say why not);
    `private_networks`: the private ranges the host lets this fetch reach; `published`: the
    date to record if the page gives none (a feed item's)."""
    fetched = fetch(url, private_networks=private_networks)
    return add_fetched(library, collection, fetched, published=published)


def add_fetched(
    library: Library,
    collection: str,
    fetched: Fetched,
    *,
    published: datetime.date | None = None,
) -> tuple[StoredArticle, bool]:
    """Add a fetched page; its id comes from the last part of the URL's path, else the host."""
    parts = urllib.parse.urlsplit(fetched.url)
    slug = PurePosixPath(parts.path.rstrip("/")).stem
    return library.add(
        collection,
        fetched.body,
        fetched.suffix,
        wanted_id=slug or parts.hostname or "",
        url=fetched.url,
        fetched_at=fetched.fetched_at,
        published=published,
    )


def linked_document(fetched: Fetched) -> Document:
    """A fetched page read as an article, without storing it (a link a member shared); its
    untrusted bytes read as an added article's are. Its URL is the one fetched, whatever the
    page says its address is (that would be a link chosen by the page). LibraryError when it
    holds no article."""
    try:
        document = article_document(Path(f"link{fetched.suffix}"), fetched.body, untrusted=True)
    except SeedFileError as error:
        raise LibraryError(f"{fetched.url} {error.problem}.") from None
    return document.model_copy(update={"url": fetched.url})
