"""The static files storage of a server that serves its own static files (DJANGO_SERVE_STATIC)."""

import re
from collections.abc import Callable

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage (content-hashed names, gzip and brotli copies),
    except that vendored files keep their bytes: GraphiQL's page names each file with its
    sha384 (`integrity`), and its files point at source maps that are not vendored, so the
    manifest's rewriting of references would both break the hash and fail `collectstatic`."""

    unchanged_prefixes = ("graphiql/",)

    def url_converter(
        self, name: str, hashed_files: dict, template: str | None = None
    ) -> Callable[[re.Match], str]:
        if name.startswith(self.unchanged_prefixes):
            return lambda match: match["matched"]
        return super().url_converter(name, hashed_files, template)
