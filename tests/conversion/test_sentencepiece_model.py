"""tokenizer.model written without protobuf: SentencePiece loads it and encodes with it as specified."""

from __future__ import annotations

import pytest

from convert.sentencepiece_model import ModelType, NormalizerSpec, Piece, PieceType, TrainerSpec, write_model


def _pieces() -> list[Piece]:
    pieces = [
        Piece("<pad>", 0.0, PieceType.CONTROL),
        Piece("<eos>", 0.0, PieceType.CONTROL),
        Piece("<bos>", 0.0, PieceType.CONTROL),
        Piece("<unk>", 0.0, PieceType.UNKNOWN),
        Piece("\n", 0.0, PieceType.USER_DEFINED),
        Piece("▁▁", 0.0, PieceType.USER_DEFINED),
    ]
    pieces += [Piece(f"<0x{b:02X}>", 0.0, PieceType.BYTE) for b in range(256)]
    # merges by score: "▁h" first, then "▁ha", "ll" ...; single characters last
    for score, text in enumerate(["▁h", "▁ha", "ll", "llo", "▁hallo", "▁", "h", "a", "l", "o", "w"]):
        pieces.append(Piece(text, -float(score), PieceType.NORMAL))
    return pieces


@pytest.mark.parametrize("dummy_prefix", [False, True])
def test_sentencepiece_reads_and_encodes_it(tmp_path, dummy_prefix):
    import sentencepiece as spm

    pieces = _pieces()
    trainer = TrainerSpec(
        model_type=ModelType.BPE, unk_id=3, bos_id=2, eos_id=1, pad_id=0, bos_piece="<bos>", eos_piece="<eos>"
    )
    path = write_model(
        tmp_path / "tokenizer.model", pieces, trainer, NormalizerSpec(add_dummy_prefix=dummy_prefix)
    )
    processor = spm.SentencePieceProcessor(model_file=str(path))
    assert processor.vocab_size() == len(pieces)
    assert (processor.bos_id(), processor.eos_id(), processor.unk_id(), processor.pad_id()) == (2, 1, 3, 0)
    for token_id, piece in enumerate(pieces):
        assert processor.IdToPiece(token_id) == piece.text
        assert processor.GetScore(token_id) == piece.score
    assert processor.IsByte(6) and processor.IsControl(0) and processor.IsUnknown(3)
    ids = {p.text: i for i, p in enumerate(pieces)}
    prefix = [ids["▁hallo"]] if dummy_prefix else [ids["h"], ids["a"], ids["llo"]]
    expected = prefix + [ids["▁▁"], ids["\n"], ids["w"], ids["<0xC3>"], ids["<0xA4>"]]
    # user-defined pieces match the escaped text; "ä" is outside the vocabulary: UTF-8 bytes
    assert processor.encode("hallo  \nwä") == expected


def test_fields_parse_back_with_protobuf(tmp_path):
    """transformers' own copy of the generated module (it works with the installed protobuf) agrees."""
    from transformers.utils import sentencepiece_model_pb2_new as model_pb2

    pieces = _pieces()
    trainer = TrainerSpec(unk_id=3, bos_id=2, eos_id=1, pad_id=-1, unk_piece="<unk>", bos_piece="<bos>")
    path = write_model(tmp_path / "tokenizer.model", pieces, trainer, NormalizerSpec(add_dummy_prefix=False))
    proto = model_pb2.ModelProto()
    proto.ParseFromString(path.read_bytes())
    assert [(p.piece, p.score, p.type) for p in proto.pieces] == [
        (p.text, p.score, int(p.type)) for p in pieces
    ]
    spec = proto.trainer_spec
    assert (spec.model_type, spec.vocab_size, spec.byte_fallback) == (2, len(pieces), True)
    assert (spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id) == (3, 2, 1, -1)
    assert (spec.unk_piece, spec.bos_piece) == ("<unk>", "<bos>")
    normalizer = proto.normalizer_spec
    assert normalizer.name == "identity" and not normalizer.add_dummy_prefix
    assert not normalizer.remove_extra_whitespaces and normalizer.escape_whitespaces
