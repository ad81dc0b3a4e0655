"""The knowledge base folder: markdown files read into the store's full-text index (db.kb)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.errors import BotError
from db import kb
from db.session import Database


class KnowledgeBaseError(BotError):
    """The configured knowledge base folder cannot be read."""


@dataclass(frozen=True)
class Article:
    path: str  # inside the folder, with forward slashes: the article's identity
    title: str
    body: str


_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def _without_front_matter(lines: list[str]) -> list[str]:
    """A leading YAML front-matter block (`---` ... `---`) is metadata, not text to search."""
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                return lines[end + 1 :]
    return lines


def parse_article(path: str, text: str) -> Article:
    """Title: the first `# ` heading (outside code blocks), else the file name; body: the rest of the text."""
    lines = _without_front_matter(text.lstrip("\ufeff").splitlines())
    in_fence = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        heading = None if in_fence else _HEADING.match(line)
        if heading is not None:
            body = lines[:number] + lines[number + 1 :]
            return Article(path, heading.group(1).strip(), "\n".join(body).strip())
    name = re.sub(r"[-_]+", " ", Path(path).stem).strip() or Path(path).stem
    return Article(path, name, "\n".join(lines).strip())


def read_folder(folder: Path) -> list[Article]:
    """Every `*.md` file under `folder` (hidden files and folders skipped), in path order."""
    if not folder.is_dir():
        raise KnowledgeBaseError(f"knowledge base folder {folder} does not exist or is not a folder")
    articles = []
    for file in sorted(folder.rglob("*.md")):
        relative = file.relative_to(folder)
        if not file.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        text = file.read_bytes().decode("utf-8", errors="replace")
        articles.append(parse_article(relative.as_posix(), text))
    return articles


async def index_folder(db: Database, folder: Path, now: datetime) -> tuple[int, int, int]:
    """Bring the index in line with the folder: (added or updated, unchanged, removed).

    Files are read first (in a thread), then one transaction writes the changed articles (compared by
    checksum) and deletes those whose file is gone, so searches see the old or the new folder, never half.
    """
    articles = await asyncio.to_thread(read_folder, folder)
    changed = unchanged = 0
    async with db.transaction() as session:
        for article in articles:
            if await kb.upsert_article(session, article.path, article.title, article.body, now):
                changed += 1
            else:
                unchanged += 1
        removed = await kb.remove_missing(session, [a.path for a in articles])
    return changed, unchanged, removed
