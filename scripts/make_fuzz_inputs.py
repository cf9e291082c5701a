#!/usr/bin/python3
"""The committed inputs of the fuzz targets (tests/fuzz): writes tests/fuzz/corpus/<target>/ (seeds: valid
files and near misses, where a fuzzer starts) and tests/fuzz/regressions/<target>/ (the minimal input of
each defect found in a parser, which must fail with a typed error or load correctly).

    /usr/bin/python3 scripts/make_fuzz_inputs.py

Needs only Python's standard library.  The files are committed; test_fuzz_replay runs every one of them.
The input format of each target is described at the top of tests/fuzz/fuzz_<target>.cpp.
"""
import json
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FUZZ = os.path.join(ROOT, "tests", "fuzz")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def folder(kind, target):
    path = os.path.join(FUZZ, kind, target)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write(path, name, data):
    with open(os.path.join(path, name), "wb") as out:
        out.write(data)


# --- safetensors ------------------------------------------------------------------------------------------

def safetensors(header, data=b""):
    """A safetensors file from a header (dict, or JSON text written as given) and its data bytes."""
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    text = text.encode()
    return struct.pack("<Q", len(text)) + text + data


def floats(values, fmt="<f"):
    return b"".join(struct.pack(fmt, v) for v in values)


def state_file(entries, metadata=None, dtype="F32"):
    """entries: [(name, shape, values)] laid out back to back."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    fmt = "<f" if dtype == "F32" else "<d"
    for name, shape, values in entries:
        raw = floats(values, fmt)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return safetensors(header, data)


def one_tensor(shape, offsets, data):
    return safetensors({"w": {"dtype": "F32", "shape": shape, "data_offsets": offsets}}, data)


def write_safetensors():
    corpus = folder("corpus", "safetensors")
    shutil.copy(os.path.join(FIXTURES, "io", "mlp.safetensors"), os.path.join(corpus, "mlp_from_pytorch"))
    mlp = [("0.weight", [3, 4], [0.1 * i for i in range(12)]), ("0.bias", [3], [0.5, -0.5, 0.0]),
           ("2.weight", [2, 3], [-0.2 * i for i in range(6)]), ("2.bias", [2], [1.0, 2.0])]
    write(corpus, "mlp_f64", state_file(mlp, {"format": "pt"}, "F64"))
    write(corpus, "empty", safetensors({}))
    write(corpus, "scalar_and_empty", state_file([("s", [], [42.0]), ("e", [0, 4], [])], {"k": "v"}))

    regressions = folder("regressions", "safetensors")
    data = floats([1, 2, 3, 4])
    # JSON numbers that are not integers in [0, 2^64): refused, never converted.
    write(regressions, "offset_with_fraction", one_tensor([4], [0, 16.5], data))
    write(regressions, "negative_extent", one_tensor([-4], [0, 16], data))
    write(regressions, "extent_1e30", safetensors('{"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,16]}}', data))
    write(regressions, "offset_2_pow_64",
          safetensors('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551616]}}', data))
    # A zero extent before huge ones: the later extents are bounded too.
    write(regressions, "zero_then_huge_extents", one_tensor([0, 2 ** 32, 2 ** 32], [0, 0], b""))
    # An empty tensor at the offset where the next one starts is no overlap (xgrad itself writes this).
    write(regressions, "empty_before_full",
          safetensors({"e": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},
                       "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, data))
    write(regressions, "metadata_not_object",
          safetensors({"__metadata__": [1, 2], "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, data))
    write(regressions, "header_length_past_end", struct.pack("<Q", 2 ** 40) + b"{}")
    # Error messages once dumped the malformed entry whole, and dumping recurses: a value nested 100,000
    # deep overflowed the stack.  Now described by its kind and size.
    nested = "[" * 100000 + "]" * 100000
    write(regressions, "entry_nested_100000_deep", safetensors('{"w":' + nested + '}'))
    write(regressions, "extent_nested_100000_deep",
          safetensors('{"w":{"dtype":"F32","shape":[' + nested + '],"data_offsets":[0,0]}}'))


# --- checkpoints ------------------------------------------------------------------------------------------

def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + length]), raw[8 + length:]


def with_entry(header, data, name, shape, values, fmt="<f"):
    """A copy of (header, data) with entry `name` replaced (or added) at the end of the data."""
    header = json.loads(json.dumps(header))
    raw = floats(values, fmt)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    return safetensors(header, data + raw)


def write_checkpoints():
    source = os.path.join(FIXTURES, "optim", "adam.ckpt")
    header, data = read_safetensors(source)
    corpus = folder("corpus", "checkpoint")
    shutil.copy(source, os.path.join(corpus, "adam"))
    with_generators = json.loads(json.dumps(header))
    with_generators["__metadata__"]["generator.data"] = " ".join(str(i) for i in range(625))
    write(corpus, "adam_with_generator", safetensors(with_generators, data))

    regressions = folder("regressions", "checkpoint")
    write(regressions, "step_empty", with_entry(header, data, "optimizer.step", [0], []))
    write(regressions, "step_not_scalar", with_entry(header, data, "optimizer.step", [2], [5.0, 5.0]))
    write(regressions, "step_negative", with_entry(header, data, "optimizer.step", [], [-1.0]))
    write(regressions, "step_nan", with_entry(header, data, "optimizer.step", [], [float("nan")]))
    write(regressions, "step_huge", with_entry(header, data, "optimizer.step", [], [1e30]))
    write(regressions, "param_step_fraction", with_entry(header, data, "optimizer.0.0.step", [], [2.5]))
    write(regressions, "misspelt_entry", with_entry(header, data, "optimizer.0.0.exp_avgg", [4, 3], [0.0] * 12))
    for name, epoch in (("epoch_negative", "-1"), ("epoch_suffix", "12abc"), ("epoch_overflow", "9" * 30)):
        bad = json.loads(json.dumps(header))
        bad["__metadata__"]["epoch"] = epoch
        write(regressions, name, safetensors(bad, data))
    bad = json.loads(json.dumps(header))
    bad["__metadata__"]["generator.data"] = "not a generator state"
    write(regressions, "generator_malformed", safetensors(bad, data))


# --- IDX --------------------------------------------------------------------------------------------------

def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def write_idx():
    images = idx(0x08, [2, 3, 3], bytes(range(18)))
    labels = idx(0x08, [4], bytes([0, 9, 3, 1]))
    seeds = {
        "images_u8": images,
        "labels_u8": labels,
        "labels_i16": idx(0x0B, [3], struct.pack(">hhh", 1, -2, 300)),
        "labels_i32": idx(0x0C, [2], struct.pack(">ii", 7, -70000)),
        "values_f32": idx(0x0D, [2, 2], struct.pack(">ffff", 0.5, -1.0, 2.0, 3.0)),
        "values_f64": idx(0x0E, [2], struct.pack(">dd", 1.0, -2.0)),
    }
    corpus = folder("corpus", "idx")
    gzip_corpus = folder("corpus", "idx_gzip")
    for name, data in seeds.items():
        write(corpus, name, data)
        write(gzip_corpus, name, b"\x00" + data)   # fuzz_idx_gzip: mode byte 0 (stream left whole), then the file

    regressions = folder("regressions", "idx")
    write(regressions, "label_f32_nan", idx(0x0D, [1], struct.pack(">f", float("nan"))))
    write(regressions, "label_f32_fraction", idx(0x0D, [1], struct.pack(">f", 2.5)))
    write(regressions, "label_f64_huge", idx(0x0E, [1], struct.pack(">d", 1e30)))
    write(regressions, "value_f64_beyond_float", idx(0x0E, [1], struct.pack(">d", 1e300)))
    write(regressions, "zero_then_huge_dims", idx(0x08, [0, 2 ** 32 - 1, 2 ** 32 - 1], b""))
    write(regressions, "claims_4_gib", idx(0x08, [2 ** 32 - 1], b""))
    write(regressions, "array_wider_than_payload", idx(0x08, [2 ** 30, 2], b""))
    write(regressions, "longer_than_dims", idx(0x08, [2], b"\x01\x02\x03"))
    write(regressions, "bad_type", idx(0x0A, [1], b"\x00"))

    gzip_regressions = folder("regressions", "idx_gzip")
    write(gzip_regressions, "stream_cut", b"\x8a" + images)          # the compressed file 10 bytes short
    write(gzip_regressions, "stream_corrupt", b"\x14" + images)      # byte 20 of the compressed file flipped
    write(gzip_regressions, "claims_4_gib", b"\x00" + idx(0x08, [2 ** 32 - 1], b""))


# --- CSV --------------------------------------------------------------------------------------------------

def csv(header, delimiter, label_mode, text, second=0):
    """fuzz_csv's input: the options byte, the label-index byte, then the file."""
    delimiters = {",": 0, ";": 1, "\t": 2, " ": 3}
    choice = (1 if header else 0) | (delimiters[delimiter] << 1) | (label_mode << 3)
    return bytes([choice, second]) + text.encode()


def write_csv():
    corpus = folder("corpus", "csv")
    write(corpus, "header_label_by_name", csv(True, ",", 1, "a,b,label\n1.5,2,0\n-3,4e2,1\n"))
    write(corpus, "no_header_label_index", csv(False, ";", 2, "1;2.5;3\n0;-1;2\n"))
    write(corpus, "features_only", csv(True, "\t", 0, "x\ty\n1\t2\n3\t4\n"))

    regressions = folder("regressions", "csv")
    write(regressions, "empty_with_label_index", csv(False, ",", 2, ""))
    write(regressions, "label_index_beyond_2_pow_64", csv(False, ",", 3, "1,2\n", second=255))
    write(regressions, "feature_beyond_float", csv(True, ",", 0, "x\n1e300\n"))
    write(regressions, "label_nan", csv(True, ",", 1, "x,label\n1,nan\n"))
    write(regressions, "ragged_rows", csv(True, ",", 1, "x,label\n1,2,3\n"))


# --- BPE vocabularies -------------------------------------------------------------------------------------

def bpe_vocabulary(merges, specials, split_words=True, vocab_size=None, **changes):
    """A vocabulary file as text::BpeTokenizer::save writes it; `changes` replace fields after the fact."""
    first_special = 256 + len(merges)
    file = {"format": "xgrad-bpe", "version": 1, "split_words": split_words,
            "vocab_size": 256 + len(merges) + len(specials) if vocab_size is None else vocab_size,
            "merges": merges,
            "special_tokens": [{"id": first_special + i, "hex": token.hex()} for i, token in enumerate(specials)]}
    file.update(changes)
    return json.dumps(file, separators=(",", ":")).encode()


def write_bpe_vocabulary():
    corpus = folder("corpus", "bpe_vocabulary")
    aaabdaaabac = [[97, 97], [97, 98], [256, 257]]   # the merges of "aaabdaaabac"
    write(corpus, "aaabdaaabac_endoftext", bpe_vocabulary(aaabdaaabac, [b"<|endoftext|>"]))
    write(corpus, "bytes_only", bpe_vocabulary([], []))
    write(corpus, "whole_text_binary_special", bpe_vocabulary([[0, 255], [256, 256], [32, 257]], [b"\x00\xff", b"<s>"],
                                                               split_words=False))
    write(corpus, "truncated", bpe_vocabulary(aaabdaaabac, [b"<s>"])[:40])
    write(corpus, "merge_of_unknown_id", bpe_vocabulary([[97, 97], [300, 98]], []))
    write(corpus, "merge_twice", bpe_vocabulary([[97, 97], [97, 97]], []))
    write(corpus, "huge_vocab_size", bpe_vocabulary(aaabdaaabac, [], vocab_size=2 ** 63))
    write(corpus, "special_odd_hex", bpe_vocabulary([], [], special_tokens=[{"id": 256, "hex": "3c7"}], vocab_size=257))

    # Error messages once dumped the offending value whole, and dumping recurses: a value nested 100,000
    # arrays deep overflowed the stack.
    nested = "[" * 100000 + "]" * 100000
    regressions = folder("regressions", "bpe_vocabulary")
    write(regressions, "format_nested_100000_deep", ('{"format":' + nested + '}').encode())
    write(regressions, "merge_nested_100000_deep",
          bpe_vocabulary([], [], vocab_size=257).replace(b'"merges":[]', b'"merges":[' + nested.encode() + b']'))


# --- model store manifests and metadata, predict requests -------------------------------------------------

def manifest(versions, production, **changes):
    return json.dumps(dict({"format": "xgrad-model-store", "versions": versions, "production": production},
                           **changes)).encode()


def write_model_store():
    corpus = folder("corpus", "model_store")
    write(corpus, "two_versions_one_promoted", manifest([1, 2], [2]))
    write(corpus, "promoted_twice", manifest([1, 2], [1, 2]))
    write(corpus, "metadata", json.dumps({"metrics": {"accuracy": 0.9}, "data_fingerprint": "sha256:0",
                                          "architecture": "Linear", "tags": {"a": "b"},
                                          "created": "2026-01-01T00:00:00Z"}).encode())
    regressions = folder("regressions", "model_store")
    write(regressions, "version_fraction", manifest([1, 1.5], []))
    write(regressions, "version_negative", manifest([-1], []))
    write(regressions, "version_beyond_2_pow_64", b'{"format": "xgrad-model-store", "versions": [18446744073709551616],'
                                                  b' "production": []}')
    write(regressions, "production_unknown", manifest([1, 2], [3]))
    write(regressions, "versions_unordered", manifest([2, 1], [1]))
    write(regressions, "version_without_directory", manifest([1, 2, 3], [3]))
    write(regressions, "truncated", manifest([1, 2], [2])[:-5])
    write(regressions, "nested_deeply", b"[" * 100000)
    write(regressions, "metric_not_a_number", json.dumps({"metrics": {"accuracy": "high"}, "data_fingerprint": "",
                                                         "architecture": "", "tags": {}, "created": ""}).encode())


def write_predict_request():
    corpus = folder("corpus", "predict_request")
    write(corpus, "one_input", b'{"input": [0, 0.25, 0.5, 1]}')
    write(corpus, "batch", b'{"inputs": [[0, 0.25, 0.5, 1], [1, 1, 1, 1e-3]]}')
    regressions = folder("regressions", "predict_request")
    write(regressions, "too_many_inputs", b'{"inputs": [[0,0,0,0], [0,0,0,0], [0,0,0,0], [0,0,0,0]]}')
    write(regressions, "value_overflows_double", b'{"input": [0, 1e999, 0, 0]}')
    write(regressions, "value_out_of_range", b'{"input": [0, 1.5, 0, 0]}')
    write(regressions, "string_value", b'{"input": [0, "1", 0, 0]}')
    write(regressions, "nested_deeply", b'{"input": ' + b"[" * 100000)
    write(regressions, "both_fields", b'{"input": [0, 0, 0, 0], "inputs": [[0, 0, 0, 0]]}')


if __name__ == "__main__":
    write_safetensors()
    write_checkpoints()
    write_idx()
    write_csv()
    write_bpe_vocabulary()
    write_model_store()
    write_predict_request()
