"""Load the prompt files of ``prompts/`` and fill them; the only reader of those files.

A prompt file is ``<name>.<language>.md``: a header between two ``---`` lines (``version``,
``purpose``, ``fields``), then a ``### system`` and/or a ``### user`` section.
Sections are ``string.Template`` texts filled with ``substitute``, so a missing field fails
loudly. Data taken from users goes through :func:`fence_data`, which turns it into JSON that cannot
close the ``<<<DATA … DATA>>>`` block the prompts declare to be data, not instructions.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from interestlens.tools.errors import ConfigError

PROMPT_PACKAGE = "interestlens.prompts"
PROMPT_LANGUAGES = ("en", "zh")
ROLES = ("system", "user")
_SECTION = re.compile(r"^### (system|user)[ \t]*$", re.MULTILINE)

Message = tuple[str, str]
"""One chat message as ``(role, content)``; role is "system", "user" or "assistant"."""


@dataclass(frozen=True)
class Prompt:
    """One versioned prompt file, split into its system and user templates.

    Attributes:
        name: File stem without language, e.g. "segment_name".
        language: "en" or "zh".
        version: The header's ``version``.
        purpose: The header's ``purpose``.
        system: Template of the system message ("" when the file has no system section).
        user: Template of the user message ("" when the file has no user section).
        sha256: Hash of the whole file, header included; part of every LLM cache key.
    """

    name: str
    language: str
    version: str
    purpose: str
    system: str
    user: str
    sha256: str

    @property
    def label(self) -> str:
        """Return "name.language vN", the form recorded in naming notes."""
        return f"{self.name}.{self.language} v{self.version}"

    def messages(self, **fields: str) -> list[Message]:
        """Return the filled ``(role, content)`` messages; ``KeyError`` when a field is missing."""
        filled = [(role, Template(getattr(self, role)).substitute(fields)) for role in ROLES]
        return [(role, text) for role, text in filled if text]


def prompt_language(language: str) -> str:
    """Return the prompt language for a data language: "zh" for Chinese, else "en"."""
    return "zh" if language == "zh" else "en"


def load_prompt(name: str, language: str = "en") -> Prompt:
    """Return the prompt ``name`` in ``language`` ("zh" or anything else for English).

    Raises:
        ConfigError: The file is missing, or has no header or no section.
    """
    language = prompt_language(language)
    resource = resources.files(PROMPT_PACKAGE) / f"{name}.{language}.md"
    if not resource.is_file():
        raise ConfigError(f"prompts/{name}.{language}.md: prompt file not found")
    raw = resource.read_text(encoding="utf-8")
    header, body = _split_header(raw, f"prompts/{name}.{language}.md")
    sections = _sections(body)
    if not sections:
        raise ConfigError(f"prompts/{name}.{language}.md: no '### system' or '### user' section")
    return Prompt(
        name=name, language=language, version=header.get("version", "0"),
        purpose=header.get("purpose", ""), system=sections.get("system", ""),
        user=sections.get("user", ""), sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
    )


def fence_data(payload: Any) -> str:
    r"""Return ``payload`` as pretty JSON safe to put inside a ``<<<DATA … DATA>>>`` block.

    Every user text becomes a JSON string, and ``<`` and ``>`` are escaped (``\u003c``), so no
    text can write the block's closing line or any other markup that looks like an instruction.
    """
    text = json.dumps(payload, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


_FENCE_START, _FENCE_END = "<<<DATA\n", "\nDATA>>>"


def fence_text(text: str) -> str:
    """Return ``text`` (a tool result holding user texts) inside a ``<<<DATA … DATA>>>`` block.

    ``<`` and ``>`` are escaped as in :func:`fence_data`, so no text can close the block.
    """
    return _FENCE_START + text.replace("<", "\\u003c").replace(">", "\\u003e") + _FENCE_END


def unfence_text(text: str) -> str:
    """Return the text :func:`fence_text` fenced (``text`` itself when it is not fenced)."""
    if not (text.startswith(_FENCE_START) and text.endswith(_FENCE_END)):
        return text
    inner = text[len(_FENCE_START):-len(_FENCE_END)]
    return inner.replace("\\u003c", "<").replace("\\u003e", ">")


def _split_header(raw: str, where: str) -> tuple[dict[str, str], str]:
    """Return the ``key: value`` header and the text after it."""
    lines = raw.split("\n")
    if not lines or lines[0].strip() != "---" or "---" not in (s.strip() for s in lines[1:]):
        raise ConfigError(f"{where}: missing '---' header with version and purpose")
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    header = {}
    for line in lines[1:end]:
        key, _, value = line.partition(":")
        header[key.strip()] = value.strip()
    return header, "\n".join(lines[end + 1:])


def _sections(body: str) -> dict[str, str]:
    """Return the text of each ``### role`` section, stripped."""
    marks = list(_SECTION.finditer(body))
    return {
        mark.group(1): body[mark.end(): marks[i + 1].start() if i + 1 < len(marks) else None]
        .strip()
        for i, mark in enumerate(marks)
    }
