"""Texts of contingency plans: English and any other languages, by ISO 639 code."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Text"]

#: A language code of a plan text: ISO 639-1 (``fi``) or 639-2 (``sme``), lower case.
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


class Text(BaseModel):
    """A text in English and, optionally, other languages (``zh``, ``fi``, ``sv`` …).

    ``en`` is required; every other key is an ISO 639 language code (two or three lower-case
    letters) with a non-empty text. :meth:`get` gives the text in a language, else the English.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Annotated[str, Field(min_length=1)]]

    en: str = Field(min_length=1)

    @model_validator(mode="after")
    def _language_codes(self) -> Text:
        bad = [k for k in self.model_extra or {} if not _LANGUAGE_CODE.match(k)]
        if bad:
            raise ValueError(
                f"language codes (two or three lower-case letters, e.g. zh, fi) as keys, "
                f"not {', '.join(map(repr, bad))}"
            )
        return self

    def get(self, language: str) -> str:
        """The text in ``language`` (a code such as ``zh`` or ``fi``), else the English text."""
        if language == "en":
            return self.en
        return str((self.model_extra or {}).get(language, self.en))

    @property
    def languages(self) -> tuple[str, ...]:
        """The language codes given, English first."""
        return ("en", *(self.model_extra or {}))
