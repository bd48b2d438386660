"""Add alma.* keys to a finished GGUF: a streamed copy with the new metadata, written atomically
(docs/tuning.md, "Lineage")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alma_core.atomic import atomic_path
from convert.errors import ConversionError, check_output_free


def _details(value: Any):
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails

    kind = gguf.GGUFValueType
    if isinstance(value, bool):
        return MetadataDetails(kind.BOOL, value)
    if isinstance(value, int):
        return MetadataDetails(kind.INT64, value)
    if isinstance(value, float):
        return MetadataDetails(kind.FLOAT64, value)
    if isinstance(value, str):
        return MetadataDetails(kind.STRING, value)
    return MetadataDetails(kind.STRING, json.dumps(value, ensure_ascii=False, sort_keys=True))


def copy_with_metadata(source: Path, output: Path, metadata: Mapping[str, Any], force: bool = False) -> Path:
    """Write `source` to `output` with `metadata` keys added (or replaced); returns output."""
    import gguf
    from gguf.scripts.gguf_new_metadata import copy_with_new_metadata

    source, output = Path(source), Path(output)
    if source.resolve() == output.resolve():
        raise ConversionError(f"{output}: the copy must not replace its own source")
    try:
        reader = gguf.GGUFReader(source)
    except (OSError, ValueError) as error:
        raise ConversionError(f"{source}: not a readable GGUF file ({error})") from error
    field = reader.get_field(gguf.Keys.General.ARCHITECTURE)
    if field is None:
        raise ConversionError(f"{source}: the GGUF names no general.architecture")
    new = {key: _details(value) for key, value in metadata.items()}
    check_output_free(output, force)
    with atomic_path(output, suffix=".tmp") as staging:
        writer = gguf.GGUFWriter(staging, arch=field.contents(), endianess=reader.endianess)
        alignment = reader.get_field(gguf.Keys.General.ALIGNMENT)
        if alignment is not None:
            writer.data_alignment = alignment.contents()
        copy_with_new_metadata(reader, writer, new, remove_metadata=[])
    return output
