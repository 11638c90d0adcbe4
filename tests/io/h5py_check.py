"""h5py's view of the file Ember writes in tests/io/hdf5_test.cpp (Hdf5Write.H5pyReadsEmbersFile).

Usage: /usr/bin/python3 tests/io/h5py_check.py FILE   -> exit status 0 when h5py reads exactly the
layout, numpy dtypes, values and attributes that the test wrote (expected values are written here
from the test's arithmetic, independently of Ember), 1 with a list of differences otherwise.
"""
import sys

import h5py
import numpy as np

problems = []


def check(what, got, want):
    same = (np.array_equal(got, want) and np.asarray(got).dtype == np.asarray(want).dtype) if isinstance(want, np.ndarray) else got == want
    if not same:
        problems.append(f"{what}: h5py reads {got!r}, expected {want!r}")


with h5py.File(sys.argv[1], "r") as f:
    names = []
    f.visit(names.append)
    check("visit order", names, ["grow", "gz", "subgroup", "subgroup/subsub", "subgroup/subsub/test_numpy",
                                 "test_numpy", "types", "types/bool", "types/f32", "types/f64", "types/i32",
                                 "types/scalar", "types/u8"])
    check("keys", list(f.keys()), ["grow", "gz", "subgroup", "test_numpy", "types"])
    check("/test_numpy", f["test_numpy"][()], np.arange(100))
    check("/subgroup/subsub/test_numpy", f["subgroup/subsub/test_numpy"][()], np.arange(100))
    check("/types/u8", f["types/u8"][()], np.array([0, 128, 255], dtype=np.uint8))
    check("/types/i32", f["types/i32"][()], np.array([-2, 0, 2], dtype=np.int32))
    check("/types/f32", f["types/f32"][()], (np.arange(6, dtype=np.float32) / 4).reshape(2, 3))
    check("/types/f64", f["types/f64"][()], (np.arange(6, dtype=np.float64) / 3).reshape(3, 2))
    check("/types/bool", f["types/bool"][()], np.array([True, False, True]))
    check("/types/scalar", f["types/scalar"][()], np.float64(-1.5))
    check("/types/scalar shape", f["types/scalar"].shape, ())
    gz = f["gz"]
    check("/gz", gz[()], np.arange(400, dtype=np.float32).reshape(40, 10))
    check("/gz compression", (gz.compression, gz.compression_opts, gz.chunks), ("gzip", 5, (8, 10)))
    check("/gz attrs unit", gz.attrs["unit"], "m/s")
    grow = f["grow"]
    check("/grow", grow[()], np.array([5, 6, 7, 8], dtype=np.int64))
    check("/grow maxshape", grow.maxshape, (None,))
    a = f.attrs
    check("attr keys", sorted(a.keys()), ["ascii_fixed", "empty", "float", "floats", "int", "ints", "names", "str", "vnames"])
    check("attr str", a["str"], "ünïcode ok")
    check("attr str type", (a.get_id("str").get_type().is_variable_str(), a.get_id("str").get_type().get_cset()),
          (True, h5py.h5t.CSET_UTF8))
    check("attr ascii_fixed", a["ascii_fixed"], np.bytes_(b"fixed"))
    check("attr int", a["int"], np.int64(42))
    check("attr float", a["float"], np.float64(0.5))
    check("attr names", a["names"], np.array([b"a", b"bc"]))
    check("attr vnames", list(a["vnames"]), ["x", "ÿz"])
    check("attr ints", a["ints"], np.array([3, -4], dtype=np.int64))
    check("attr floats", a["floats"], np.array([0.25]))
    check("attr empty", a["empty"], np.zeros((0,), dtype=np.float64))

if problems:
    print("\n".join(problems))
    sys.exit(1)
print("h5py agrees with Ember's file")
