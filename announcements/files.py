"""What an attachment is: the type its bytes say, never the uploaded name or declared type.

Used when a file is uploaded (only PDF, PNG and JPEG are accepted) and again every time one is
served: the response's type, its file name's extension and whether the browser may show it
inline all come from the stored bytes. A file whose bytes are none of the known types (stored
before uploads were sniffed, or put there behind the application) goes out as an
`application/octet-stream` download named `.bin`, so that no browser or desktop ever opens
it as HTML.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    #: Shown in the browser (images, PDF); anything else is a download.
    inline: bool


PDF = FileType("application/pdf", ".pdf", inline=True)
PNG = FileType("image/png", ".png", inline=True)
JPEG = FileType("image/jpeg", ".jpg", inline=True)
GIF = FileType("image/gif", ".gif", inline=True)
WEBP = FileType("image/webp", ".webp", inline=True)
UNKNOWN = FileType("application/octet-stream", ".bin", inline=False)

#: Bytes a file must start with to be read as each type.
_SIGNATURES = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
#: How many leading bytes `sniff` needs.
HEAD_BYTES = 16

#: What an author may upload (docs/announcements.md).
UPLOADABLE = (PDF, PNG, JPEG)


def sniff(head: bytes) -> FileType:
    """The type of a file from its first HEAD_BYTES bytes; UNKNOWN when none matches."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return UNKNOWN


def download_name(name: str, kind: FileType) -> str:
    """The stored name with the sniffed type's extension in place of the uploaded one:
    `halaman.html` holding a PNG is saved as `halaman.png`, never as a page to open."""
    stem, _extension = os.path.splitext(name)
    return f"{stem or 'lampiran'}{kind.extension}"
