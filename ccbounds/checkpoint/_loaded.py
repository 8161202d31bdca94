"""The result of loading a checkpoint (:class:`LoadedCheckpoint`), the formats it names and the rebuilt-model label.

A leaf both loaders import: :mod:`~ccbounds.checkpoint._load` (which re-exports these names) and
:mod:`~ccbounds.checkpoint._hf`, so the Hugging Face loader does not import the loader that dispatches to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FORMATS", "REBUILT", "LoadedCheckpoint"]

#: values of ``LoadedCheckpoint.format``
FORMATS = ("ccbounds", "foreign-state-dict", "pickled-module", "hf-pretrained", "state-dict-with-code")
#: ``LoadedCheckpoint.model_source`` of a model rebuilt from tensor names and a spec (never the user's code)
REBUILT = "rebuilt from tensor names"


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint loaded into a model in eval mode, with what is known about it.

    Attributes
    ----------
    model : torch.nn.Module
        A reference ``RecurrentClassifier`` / ``TransformerClassifier`` (or, for ``"pickled-module"``,
        the unpickled module itself), in eval mode.
    config : RecurrentConfig or TransformerConfig or None
        ``None`` only for a pickled module that is not a reference model.
    task : Task
        The task from the metadata (ccbounds checkpoints) or the spec.
    metadata : dict
        The ccbounds metadata, or for other formats ``{"spec": ...}``.
    path, format, sha256, container : str
        The file, one of :data:`FORMATS`, the SHA-256 of its bytes, ``"pt"`` or ``"safetensors"``.
    mapping : dict
        Reference tensor name -> foreign key it was loaded from (foreign state_dicts only).
    model_source : str
        Where the audited forward comes from: ``"your code: MODULE:CALLABLE"``, ``"pickled module"``,
        ``"ccbounds checkpoint"`` or :data:`REBUILT` (a reference model filled with the foreign tensors: not
        the user's forward, only as faithful as the spec).
    """

    model: Any
    config: Any
    task: Any
    metadata: dict[str, Any]
    path: str
    format: str
    sha256: str
    container: str
    mapping: dict[str, str] = field(default_factory=dict)
    model_source: str = ""

    def describe(self, width: int | None = None) -> str:
        """A few readable lines (file, format, model, task, training record) fitting ``width`` columns."""
        from ccbounds._text import fit_command, fit_text

        lines = [
            f"checkpoint  {self.path}  (sha256 {self.sha256[:16]})",
            f"format      {self.format} ({self.container} container)",
            f"model       {self.config if self.config is not None else type(self.model).__name__}"
            f"  ({sum(p.numel() for p in self.model.parameters())} parameters)",
            f"task        {self.task}",
            f"source      {self.model_source}",
        ]
        if self.mapping:
            zeros = sum(v.startswith("zeros") for v in self.mapping.values())
            lines.append(
                f"mapping     {len(self.mapping)} tensors renamed from foreign names ({zeros} missing biases set to 0)"
            )
        left_out = self.metadata.get("ignored_modules") or []
        if left_out:
            lines.append(f"left out    {', '.join(left_out)}: not in the rebuilt model (if your forward uses them, "
                         "it is not your model; pass --model MODULE:CALLABLE)")
        train = self.metadata.get("train") or {}
        if train:
            lines.append("trained     " + ", ".join(f"{k}={v}" for k, v in train.items() if k != "command"))
        text = fit_text("\n".join(lines), width)
        if "command" in train:  # broken with shell continuations, so it still pastes
            text += "\n" + fit_command("command     ", train["command"], width)
        return text

    def __str__(self) -> str:
        return self.describe()

    def to_dict(self) -> dict[str, Any]:
        """Everything but the model, as plain data."""
        return {
            "path": self.path,
            "format": self.format,
            "container": self.container,
            "sha256": self.sha256,
            "config": None if self.config is None else self.config.to_dict(),
            "task": self.task.to_dict(),
            "metadata": self.metadata,
            "mapping": dict(self.mapping),
            "model_source": self.model_source,
        }
