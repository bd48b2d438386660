"""A SentencePiece model file (tokenizer.model) written directly in protobuf's wire format, without
protobuf (docs/convert.md, "import-gguf" and "Limits")."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class PieceType(IntEnum):
    """ModelProto.SentencePiece.Type; the same numbers as gguf.TokenType."""

    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


class ModelType(IntEnum):
    UNIGRAM = 1
    BPE = 2


@dataclass(frozen=True)
class Piece:
    text: str
    score: float
    type: PieceType


@dataclass(frozen=True)
class TrainerSpec:
    """The TrainerSpec fields that matter when the model encodes text (and to readers of the file)."""

    model_type: ModelType = ModelType.BPE
    byte_fallback: bool = True
    unk_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    pad_id: int = -1  # -1: no padding piece
    unk_piece: str = "<unk>"
    bos_piece: str = "<s>"
    eos_piece: str = "</s>"
    pad_piece: str = "<pad>"
    split_digits: bool = False
    allow_whitespace_only_pieces: bool = False


@dataclass(frozen=True)
class NormalizerSpec:
    """No character normalization ("identity"); only the whitespace rules llama.cpp also follows."""

    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = False
    escape_whitespaces: bool = True


# Field numbers from sentencepiece_model.proto.
_MODEL_PIECES, _MODEL_TRAINER_SPEC, _MODEL_NORMALIZER_SPEC = 1, 2, 3
_PIECE_TEXT, _PIECE_SCORE, _PIECE_TYPE = 1, 2, 3
_TRAINER_FIELDS = {
    "model_type": 3,
    "vocab_size": 4,
    "split_digits": 25,
    "allow_whitespace_only_pieces": 26,
    "byte_fallback": 35,
    "unk_id": 40,
    "bos_id": 41,
    "eos_id": 42,
    "pad_id": 43,
    "unk_piece": 45,
    "bos_piece": 46,
    "eos_piece": 47,
    "pad_piece": 48,
}
_NORMALIZER_NAME, _NORMALIZER_ADD_DUMMY_PREFIX = 1, 3
_NORMALIZER_REMOVE_EXTRA_WHITESPACES, _NORMALIZER_ESCAPE_WHITESPACES = 4, 5

_VARINT, _FIXED32, _LENGTH_DELIMITED = 0, 5, 2


def _varint(value: int) -> bytes:
    # Negative int32 values are encoded as their 64-bit two's complement (ten bytes), as protobuf does.
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _int_field(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(int(value))


def _float_field(field: int, value: float) -> bytes:
    return _key(field, _FIXED32) + struct.pack("<f", value)


def _bytes_field(field: int, value: bytes) -> bytes:
    return _key(field, _LENGTH_DELIMITED) + _varint(len(value)) + value


def _string_field(field: int, value: str) -> bytes:
    return _bytes_field(field, value.encode("utf-8"))


def _piece_message(piece: Piece) -> bytes:
    return (
        _string_field(_PIECE_TEXT, piece.text)
        + _float_field(_PIECE_SCORE, piece.score)
        + _int_field(_PIECE_TYPE, int(piece.type))
    )


def _trainer_message(spec: TrainerSpec, vocab_size: int) -> bytes:
    values = {**spec.__dict__, "vocab_size": vocab_size}
    out = b""
    for name, field in _TRAINER_FIELDS.items():
        value = values[name]
        out += _string_field(field, value) if isinstance(value, str) else _int_field(field, int(value))
    return out


def _normalizer_message(spec: NormalizerSpec) -> bytes:
    return (
        _string_field(_NORMALIZER_NAME, "identity")
        + _int_field(_NORMALIZER_ADD_DUMMY_PREFIX, spec.add_dummy_prefix)
        + _int_field(_NORMALIZER_REMOVE_EXTRA_WHITESPACES, spec.remove_extra_whitespaces)
        + _int_field(_NORMALIZER_ESCAPE_WHITESPACES, spec.escape_whitespaces)
    )


def serialize_model(pieces: Sequence[Piece], trainer: TrainerSpec, normalizer: NormalizerSpec) -> bytes:
    """The bytes of a ModelProto with these pieces (in id order) and specs."""
    parts = [_bytes_field(_MODEL_PIECES, _piece_message(piece)) for piece in pieces]
    parts.append(_bytes_field(_MODEL_TRAINER_SPEC, _trainer_message(trainer, len(pieces))))
    parts.append(_bytes_field(_MODEL_NORMALIZER_SPEC, _normalizer_message(normalizer)))
    return b"".join(parts)


def write_model(
    path: Path, pieces: Sequence[Piece], trainer: TrainerSpec, normalizer: NormalizerSpec
) -> Path:
    """Write tokenizer.model; SentencePiece's own loader checks it (one unknown piece, 256 byte pieces)."""
    path = Path(path)
    path.write_bytes(serialize_model(pieces, trainer, normalizer))
    return path
