#!/usr/bin/env python3
"""An independent reader of TensorBoard event files, for Ember's tests.

It shares no code with Ember: the TFRecord framing, CRC-32C (Castagnoli, with TensorFlow's mask) and
the protobuf wire format are decoded here from the raw bytes, by TensorFlow's field numbers
(event.proto, summary.proto, graph.proto, node_def.proto, attr_value.proto, tensor.proto).

Usage (exit status 0 when everything matches, else a message and 1):
  tfevents_check.py expect FILE EXPECTED.json   every record's CRCs; the file_version record first;
                                                then exactly the summaries EXPECTED lists, in order
  tfevents_check.py records FILE N [truncated]  exactly N whole records with valid CRCs (and, with
                                                `truncated`, a partial record after them)
  tfevents_check.py out OUTDIR                  `ember train --out OUTDIR`'s own event file: the
                                                history.csv columns as epoch_* scalars, and the graph
  tfevents_check.py run LOGDIR OUTDIR LAYERS    `ember train --tensorboard LOGDIR --out OUTDIR`
                                                (history.csv counts epochs from 1, steps from 0):
                                                train/ and validation/ epoch scalars equal
                                                OUTDIR/history.csv, a histogram per weight, a graph
                                                node per layer (LAYERS: comma-separated names)
"""
import csv
import io
import json
import math
import os
import struct
import sys

# ---- CRC-32C, bit by bit from the reflected polynomial ----
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283, "CRC-32C test vector"


class Fail(Exception):
    pass


def read_records(path):
    """Whole records (payloads) and whether a partial record follows them."""
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        if len(data) - pos < 12:
            return out, True
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if masked(crc32c(header)) != len_crc:
            raise Fail(f"{path}: bad length CRC at offset {pos}")
        if len(data) - pos - 12 < length + 4:
            return out, True
        payload = data[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if masked(crc32c(payload)) != data_crc:
            raise Fail(f"{path}: bad payload CRC at offset {pos}")
        out.append(payload)
        pos += 16 + length
    return out, False


# ---- protobuf wire format ----
def varint(buf, pos):
    result, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def fields(buf):
    """{field number: [values]}: ints for varints, bytes for length-delimited, raw 4/8 bytes for fixed."""
    out, pos = {}, 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = varint(buf, pos)
        elif wt == 1:
            v, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            n, pos = varint(buf, pos)
            v, pos = buf[pos:pos + n], pos + n
        elif wt == 5:
            v, pos = buf[pos:pos + 4], pos + 4
        else:
            raise Fail(f"unexpected wire type {wt}")
        out.setdefault(num, []).append(v)
    return out


def f64(b):
    return struct.unpack("<d", b)[0]


def f32(b):
    return struct.unpack("<f", b)[0]


def signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def one(fs, num, default=None):
    return fs.get(num, [default])[-1]


def decode_event(payload):
    ev = fields(payload)
    out = {"wall_time": f64(one(ev, 1)), "step": signed64(one(ev, 2, 0))}
    if 3 in ev:
        out["file_version"] = one(ev, 3).decode()
    if 4 in ev:
        out["graph"] = decode_graph(one(ev, 4))
    if 5 in ev:
        out["values"] = [decode_value(v) for v in fields(one(ev, 5)).get(1, [])]
    return out


def decode_value(buf):
    v = fields(buf)
    out = {"tag": one(v, 1).decode()}
    if 9 in v:
        plugin = fields(one(fields(one(v, 9)), 1, b""))
        out["plugin"] = one(plugin, 1, b"").decode()
    if 2 in v:
        out["kind"], out["value"] = "scalar", f32(one(v, 2))
    elif 5 in v:
        h = fields(one(v, 5))
        packed = lambda n: [x for chunk in h.get(n, []) for x in struct.unpack(f"<{len(chunk) // 8}d", chunk)]
        out["kind"] = "histogram"
        out["histo"] = {"min": f64(one(h, 1)), "max": f64(one(h, 2)), "num": f64(one(h, 3)),
                        "sum": f64(one(h, 4)), "sum_squares": f64(one(h, 5)),
                        "bucket_limit": packed(6), "bucket": packed(7)}
    elif 4 in v:
        im = fields(one(v, 4))
        out["kind"] = "image"
        out["image"] = {"height": one(im, 1), "width": one(im, 2), "colorspace": one(im, 3), "png": one(im, 4)}
    elif 8 in v:
        t = fields(one(v, 8))
        out["kind"] = "tensor"
        out["dtype"] = one(t, 1)
        out["string_val"] = [s.decode() for s in t.get(8, [])]
    return out


def decode_graph(buf):
    g = fields(buf)
    nodes = []
    for nb in g.get(1, []):
        n = fields(nb)
        attrs = {}
        for entry in n.get(5, []):
            e = fields(entry)
            attrs[one(e, 1).decode()] = fields(one(e, 2, b""))
        nodes.append({"name": one(n, 1).decode(), "op": one(n, 2).decode(),
                      "inputs": [s.decode() for s in n.get(3, [])], "attrs": attrs})
    return nodes


# ---- TensorFlow's default histogram (tensorflow/core/lib/histogram/histogram.cc), re-derived ----
def default_limits():
    pos, v = [], 1.0e-12
    while v < 1.0e20:
        pos.append(v)
        v *= 1.1
    pos.append(sys.float_info.max)
    return [-x for x in reversed(pos)] + [0.0] + pos


LIMITS = default_limits()


def expected_histogram(values):
    import bisect
    counts = [0.0] * len(LIMITS)
    for x in values:
        counts[bisect.bisect_right(LIMITS, x)] += 1
    limits, buckets, i = [], [], 0
    while i < len(counts):
        end, c = LIMITS[i], counts[i]
        i += 1
        if c <= 0:
            while i < len(counts) and counts[i] <= 0:
                end, c = LIMITS[i], counts[i]
                i += 1
        limits.append(end)
        buckets.append(c)
    return {"min": min(values), "max": max(values), "num": float(len(values)), "sum": math.fsum(values),
            "sum_squares": math.fsum(x * x for x in values), "bucket_limit": limits, "bucket": buckets}


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def check_histogram(got, values, where):
    want = expected_histogram(values)
    for k in ("min", "max", "num"):
        if got[k] != want[k]:
            raise Fail(f"{where}: histogram {k} {got[k]} != {want[k]}")
    for k in ("sum", "sum_squares"):
        if not close(got[k], want[k]):
            raise Fail(f"{where}: histogram {k} {got[k]} != {want[k]}")
    if got["bucket_limit"] != want["bucket_limit"] or got["bucket"] != want["bucket"]:
        raise Fail(f"{where}: histogram buckets differ:\n got {list(zip(got['bucket_limit'], got['bucket']))}\n"
                   f" want {list(zip(want['bucket_limit'], want['bucket']))}")


def check_file_version(events, path):
    if not events or events[0].get("file_version") != "brain.Event:2":
        raise Fail(f"{path}: the first record is not file_version 'brain.Event:2'")


def cmd_expect(path, expected_path):
    expected = json.load(open(expected_path))
    records, partial = read_records(path)
    if partial:
        raise Fail(f"{path}: ends inside a record")
    events = [decode_event(r) for r in records]
    check_file_version(events, path)
    got = []  # (step, value or graph) in order
    for ev in events[1:]:
        if "graph" in ev:
            got.append((ev["step"], {"kind": "graph", "nodes": ev["graph"]}))
        for v in ev.get("values", []):
            got.append((ev["step"], v))
    if len(got) != len(expected):
        raise Fail(f"{path}: {len(got)} summaries, expected {len(expected)}: {[g[1].get('tag') for g in got]}")
    for (step, g), e in zip(got, expected):
        where = f"{path}: {e['kind']} '{e.get('tag', '')}'"
        if step != e.get("step", 0):
            raise Fail(f"{where}: step {step} != {e.get('step', 0)}")
        if e["kind"] != "graph" and g["tag"] != e["tag"]:
            raise Fail(f"{where}: tag '{g['tag']}'")
        if e["kind"] == "scalar":
            if g["kind"] != "scalar" or g["value"] != struct.unpack("<f", struct.pack("<f", e["value"]))[0]:
                raise Fail(f"{where}: {g}")
        elif e["kind"] == "histogram":
            if g["kind"] != "histogram":
                raise Fail(f"{where}: not a histogram")
            check_histogram(g["histo"], e["values"], where)
        elif e["kind"] == "text":
            if g.get("plugin") != "text" or g["dtype"] != 7 or g["string_val"] != [e["value"]]:
                raise Fail(f"{where}: {g}")
        elif e["kind"] == "image":
            from PIL import Image
            im = g["image"]
            if (im["height"], im["width"], im["colorspace"]) != (e["height"], e["width"], e["channels"]):
                raise Fail(f"{where}: image header {im['height']}x{im['width']}x{im['colorspace']}")
            pil = Image.open(io.BytesIO(im["png"]))
            pil.load()
            want = [int(math.floor(min(max(x, 0.0), 1.0) * 255 + 0.5)) for x in e["values"]]
            raw = list(pil.tobytes())
            if (pil.height, pil.width, len(raw)) != (e["height"], e["width"], len(want)) or raw != want:
                raise Fail(f"{where}: PNG pixels {raw[:16]}... != {want[:16]}...")
        elif e["kind"] == "graph":
            nodes = [{"name": n["name"], "op": n["op"], "inputs": n["inputs"]} for n in g["nodes"]]
            if nodes != e["nodes"]:
                raise Fail(f"{where}: nodes\n got  {nodes}\n want {e['nodes']}")
        else:
            raise Fail(f"unknown expected kind {e['kind']}")
    print(f"{path}: {len(records)} records, CRCs valid, {len(got)} summaries as expected")


def cmd_records(path, n, want_truncated):
    records, partial = read_records(path)
    for r in records:
        decode_event(r)
    if len(records) != n or partial != want_truncated:
        raise Fail(f"{path}: {len(records)} whole records (partial tail: {partial}), expected {n} ({want_truncated})")
    print(f"{path}: {n} whole records, CRCs valid, partial tail: {partial}")


def run_events(d):
    files = sorted(f for f in os.listdir(d) if f.startswith("events.out.tfevents."))
    if not files:
        raise Fail(f"{d}: no event file")
    events = []
    for f in files:
        records, partial = read_records(os.path.join(d, f))
        if partial:
            raise Fail(f"{d}/{f}: ends inside a record")
        evs = [decode_event(r) for r in records]
        check_file_version(evs, f)
        events += evs
    return events


def cmd_run(logdir, outdir, layers):
    rows = list(csv.DictReader(open(os.path.join(outdir, "history.csv"))))
    for sub, prefix in (("train", ""), ("validation", "val_")):
        events = run_events(os.path.join(logdir, sub))
        scalars = {}
        for ev in events:
            for v in ev.get("values", []):
                if v["kind"] == "scalar":
                    scalars[(v["tag"], ev["step"])] = v["value"]
        for metric in ("loss", "accuracy"):
            for row in rows:
                epoch = int(row["epoch"])
                key = ("epoch_" + metric, epoch - 1)
                want = struct.unpack("<f", struct.pack("<f", float(row[prefix + metric])))[0]
                if key not in scalars:
                    raise Fail(f"{sub}: no {key} (have {sorted(scalars)})")
                if not close(scalars[key], want, 1e-6):
                    raise Fail(f"{sub}: {key} = {scalars[key]}, history.csv {want}")
        if sub == "train":
            for row in rows:
                if ("epoch_learning_rate", int(row["epoch"]) - 1) not in scalars:
                    raise Fail("train: no epoch_learning_rate")
            hist_tags = {v["tag"] for ev in events for v in ev.get("values", []) if v["kind"] == "histogram"}
            graphs = [ev["graph"] for ev in events if "graph" in ev]
            if len(graphs) != 1:
                raise Fail(f"train: {len(graphs)} graphs")
            names = {n["name"] for n in graphs[0]}
            variables = [n["name"] for n in graphs[0] if n["op"] == "VariableV2"]
            for layer in layers:
                if not any(n == layer or n.startswith(layer + "/") for n in names):
                    raise Fail(f"graph: no node for layer {layer} in {sorted(names)}")
            for var in variables:
                tag = var + "_0"
                if tag not in hist_tags:
                    raise Fail(f"train: no histogram '{tag}' (have {sorted(hist_tags)})")
            if not variables:
                raise Fail("graph: no weights")
    print(f"{logdir}: train and validation scalars equal history.csv ({len(rows)} epochs); histograms and graph complete")


def cmd_out(outdir):
    # `ember train --out DIR`'s own event file: every history.csv column as "epoch_<column>" at
    # step = epoch - 1, and the model's graph.
    rows = list(csv.DictReader(open(os.path.join(outdir, "history.csv"))))
    events = run_events(outdir)
    scalars = {(v["tag"], ev["step"]): v["value"] for ev in events for v in ev.get("values", []) if v["kind"] == "scalar"}
    for row in rows:
        for column, text in row.items():
            if column == "epoch" or text in ("", "nan"):
                continue
            key = ("epoch_" + column, int(row["epoch"]) - 1)
            want = struct.unpack("<f", struct.pack("<f", float(text)))[0]
            if key not in scalars:
                raise Fail(f"{outdir}: no {key} (have {sorted(scalars)})")
            if not close(scalars[key], want, 1e-6):
                raise Fail(f"{outdir}: {key} = {scalars[key]}, history.csv {want}")
    if sum(1 for ev in events if "graph" in ev) != 1:
        raise Fail(f"{outdir}: expected one graph")
    print(f"{outdir}: the run's event file equals history.csv ({len(rows)} epochs) and has the graph")


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "expect":
            cmd_expect(argv[2], argv[3])
        elif len(argv) in (4, 5) and argv[1] == "records":
            cmd_records(argv[2], int(argv[3]), len(argv) == 5 and argv[4] == "truncated")
        elif len(argv) == 3 and argv[1] == "out":
            cmd_out(argv[2])
        elif len(argv) == 5 and argv[1] == "run":
            cmd_run(argv[2], argv[3], [x for x in argv[4].split(",") if x])
        else:
            print(__doc__)
            return 2
    except Fail as e:
        print("tfevents_check:", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
