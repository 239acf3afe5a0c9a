"""Independent numpy/scipy side of Skim's .npy and .npz interop tests.

Commands (each prints one JSON object on stdout):
  npy-describe PATH                 what numpy.load sees: descr, shape, version, flat values
  npy-save PATH DESCR SHAPE VERSION numpy.save (VERSION 0 = numpy's choice) of a deterministic array
  npz-describe PATH                 what scipy.sparse.load_npz sees, plus the zip members
  npz-save PATH KIND COMPRESSED     scipy.sparse.save_npz of a named test matrix, then describe it
  npz-dense-describe PATH           what numpy.load sees for every array of a dense .npz
  npz-dense-save PATH COMPRESSED    numpy.savez(_compressed) of several arrays, then describe it
  zip64-rewrite SRC DST             copy the members of SRC into DST with ZIP64 records everywhere
"""
import json
import sys
import zipfile

import numpy as np
import scipy.sparse as sp


def flat(values):
    return np.asarray(values).ravel().tolist()


def npy_version(path):
    with open(path, "rb") as f:
        return np.lib.format.read_magic(f)[0]


def npy_describe(path):
    a = np.load(path, allow_pickle=False)
    return {"descr": a.dtype.str, "shape": list(a.shape), "version": npy_version(path),
            "fortran": bool(a.flags.f_contiguous and not a.flags.c_contiguous), "values": flat(a)}


def sample(descr, shape):
    n = int(np.prod(shape)) if shape else 1
    i = np.arange(n, dtype=np.int64)
    kind = np.dtype(descr).kind
    if kind == "f":
        a = (i * 0.37 - 5.25).astype(descr)
    elif kind == "b":
        a = (i % 3 == 0)
    elif descr.endswith("u1"):
        a = (i * 7 % 256).astype(descr)
    else:
        a = (i * 7919 - 100000).astype(descr)
        if descr.endswith("i8") and n:
            a[-1] = -(2 ** 62)
    return a.reshape(shape)


def npy_save(path, descr, shape, version):
    a = sample(descr, shape)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=None if version == 0 else (version, 0))
    return npy_describe(path)


def npz_describe(path):
    m = sp.load_npz(path)
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    raw = np.load(path)
    return {
        "format": m.format, "shape": list(m.shape),
        "indptr": m.indptr.tolist(), "indices": m.indices.tolist(), "data": m.data.tolist(),
        "members": [i.filename for i in infos],
        "methods": [i.compress_type for i in infos],
        "dtypes": {k: raw[k].dtype.str for k in raw.files},
        "format_value": raw["format"].item().decode("ascii"),
    }


def test_matrix(kind):
    rng = np.random.default_rng(7)
    if kind == "empty":
        return sp.csr_matrix((4, 6), dtype=np.float32)
    if kind == "unsorted":
        indptr = np.array([0, 3, 3, 5])
        indices = np.array([4, 0, 2, 5, 1])
        data = np.array([0.5, 1.5, -2.0, 3.25, 1e-3], dtype=np.float32)
        m = sp.csr_matrix((data, indices, indptr), shape=(3, 7))
        assert not m.has_sorted_indices
        return m
    dense = rng.random((40, 30)) * (rng.random((40, 30)) < 0.2)
    dense[5] = 0
    dense[17] = 0
    dtype = np.float64 if kind == "float64" else np.float32
    m = sp.csr_matrix(dense.astype(dtype))
    if kind == "int64":
        m.indices = m.indices.astype(np.int64)
        m.indptr = m.indptr.astype(np.int64)
    if kind == "csc":
        return m.tocsc()
    if kind == "coo":
        return m.tocoo()
    return m


def npz_save(path, kind, compressed):
    m = test_matrix(kind)
    sp.save_npz(path, m, compressed=compressed)
    if kind in ("csc", "coo"):
        return {"format": m.format}
    return npz_describe(path)


def npz_dense_describe(path):
    with np.load(path) as z:
        return {k: {"descr": z[k].dtype.str, "shape": list(z[k].shape), "values": flat(z[k])} for k in z.files}


def npz_dense_save(path, compressed):
    arrays = {"ids": sample("<i8", (3, 4)), "emb": sample("<f4", (5, 2)), "flag": sample("|b1", (7,)),
              "half": sample("<f2", (2, 2)), "scalar": np.float64(2.5)}
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return npz_dense_describe(path)


def zip64_rewrite(src, dst):
    # zipfile switches to ZIP64 records above these limits; lowering them forces ZIP64 everywhere.
    zipfile.ZIP64_LIMIT = 0
    zipfile.ZIP_FILECOUNT_LIMIT = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            with zout.open(zipfile.ZipInfo(info.filename), "w", force_zip64=True) as f:
                f.write(zin.read(info))
    with open(dst, "rb") as f:
        f.seek(-98, 2)
        tail = f.read()
    return {"zip64_end_record": tail[:4] == b"PK\x06\x06"}


def main(argv):
    cmd = argv[1]
    if cmd == "npy-describe":
        out = npy_describe(argv[2])
    elif cmd == "npy-save":
        shape = tuple(int(d) for d in argv[4].split(",") if d != "")
        out = npy_save(argv[2], argv[3], shape, int(argv[5]))
    elif cmd == "npz-describe":
        out = npz_describe(argv[2])
    elif cmd == "npz-save":
        out = npz_save(argv[2], argv[3], argv[4] == "1")
    elif cmd == "npz-dense-describe":
        out = npz_dense_describe(argv[2])
    elif cmd == "npz-dense-save":
        out = npz_dense_save(argv[2], argv[3] == "1")
    elif cmd == "zip64-rewrite":
        out = zip64_rewrite(argv[2], argv[3])
    else:
        raise SystemExit(f"unknown command {cmd}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
