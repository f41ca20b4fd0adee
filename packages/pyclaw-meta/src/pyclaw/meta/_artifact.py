"""References to content-addressed artifacts."""

from __future__ import annotations

from pydantic import Field

from pyclaw.meta._base import Model


class ArtifactRef(Model):
    """Points at bytes stored by an ``ArtifactStore``, named by their sha256."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    media_type: str = "application/octet-stream"
    name: str | None = None

    @property
    def uri(self) -> str:
        return f"artifact:sha256:{self.sha256}"
