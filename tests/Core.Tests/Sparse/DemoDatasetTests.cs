
namespace Skim.Core.Tests.Sparse;

/// <summary>
/// Checks the committed demo dataset with an independent reader written from docs/xc-formats-and-metrics.md §1 and
/// §4 in plain Python: strict sparse text, consistent corpora, filters and the size budget.
/// </summary>
public class DemoDatasetTests
{
    // Prints "ok" or raises with the first problem found. argv[1] is the dataset folder.
    private const string VerifyScript = """
        import gzip, json, os, sys
        d = sys.argv[1]

        def sparse(name):
            raw = open(os.path.join(d, name), 'rb').read()
            assert raw.endswith(b'\n'), f'{name}: last line lacks a newline'
            lines = raw.decode('ascii').split('\n')[:-1]
            header = lines[0].split(' ')
            assert len(header) == 2 and all(h.isdigit() for h in header), f'{name}: header {lines[0]!r}'
            n, l = map(int, header)
            assert len(lines) - 1 == n, f'{name}: {len(lines) - 1} rows, header says {n}'
            rows = []
            for i, line in enumerate(lines[1:], start=2):
                row = []
                for token in line.split(' ') if line else []:
                    idx, val = token.split(':')
                    j = int(idx)
                    assert 0 <= j < l, f'{name}: line {i}: index {j} outside [0, {l})'
                    assert val == '1.0', f'{name}: line {i}: value {val!r}'
                    assert not row or j > row[-1], f'{name}: line {i}: indices not sorted and unique'
                    row.append(j)
                rows.append(row)
            rewritten = f'{n} {l}\n' + ''.join(' '.join(f'{j}:1.0' for j in r) + '\n' for r in rows)
            assert rewritten.encode('ascii') == raw, f'{name}: not byte-exact pyxclib output'
            return n, l, rows

        def corpus(name):
            raw = open(os.path.join(d, name), 'rb').read()
            assert raw[:2] == b'\x1f\x8b' and raw[4:8] == b'\0\0\0\0', f'{name}: gzip header carries a time stamp'
            return [json.loads(line) for line in gzip.decompress(raw).decode('utf-8').splitlines()]

        def pairs(name, points, labels):
            out = []
            for k, line in enumerate(open(os.path.join(d, name)).read().splitlines(), start=1):
                i, j = map(int, line.split(' '))
                assert 0 <= i < len(points) and 0 <= j < len(labels), f'{name}: line {k}: pair ({i}, {j}) out of range'
                assert points[i]['uid'] == labels[j]['uid'], f'{name}: line {k}: {points[i]["uid"]} is not label {labels[j]["uid"]}'
                out.append((i, j))
            return out

        trn, tst, lbl = corpus('trn.json.gz'), corpus('tst.json.gz'), corpus('lbl.json.gz')
        nf, lf, full = sparse('trn_X_Y_full.txt')
        no, lo, observed = sparse('trn_X_Y.txt')
        nt, lt, test = sparse('tst_X_Y.txt')
        assert (nf, no, nt) == (len(trn), len(trn), len(tst)) and lf == lo == lt == len(lbl), 'shapes disagree with the corpora'
        for records, rows, name in ((trn, full, 'trn'), (tst, test, 'tst')):
            for i, (record, row) in enumerate(zip(records, rows)):
                assert list(record) == ['uid', 'title', 'content', 'target_ind', 'target_rel'], f'{name} {i}: keys {list(record)}'
                assert record['target_ind'] == row and record['target_rel'] == [1.0] * len(row), f'{name} {i}: targets differ from the matrix'
                assert row, f'{name} {i}: a point without labels'
                record['title'].encode('latin-1'); record['content'].encode('latin-1')
        assert all(set(o) <= set(f) for o, f in zip(observed, full)), 'observed train pairs are not a subset of the full ones'
        uids = [r['uid'] for r in trn + tst]
        assert len(set(uids)) == len(uids) and not set(r['uid'] for r in trn) & set(r['uid'] for r in tst), 'a point is repeated'
        pairs('filter_labels_train.txt', trn, lbl)
        pairs('filter_labels_test.txt', tst, lbl)
        frequency = [0] * len(lbl)
        for row in full + test:
            for j in row:
                frequency[j] += 1
        assert min(frequency) >= 2, 'a label has fewer than 2 points'
        dropped = sum(len(f) - len(o) for o, f in zip(observed, full))
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        assert size <= 5 * 1024 * 1024, f'{size} bytes exceed 5 MB'
        print(len(trn), len(tst), len(lbl), sum(map(len, full)), dropped, max(frequency), size)
        """;

    [SkippableFact]
    public void The_demo_dataset_is_consistent_byte_exact_and_within_five_megabytes()
    {
        // Given the committed dataset
        PythonReference.Require("gzip", "json");
        var folder = DemoFolder();

        // When
        var counts = PythonReference.RunCode(VerifyScript, folder).Trim().Split(' ').Select(int.Parse).ToArray();

        // Then the sizes stay in the ranges the demo promises: thousands of points, a heavy head
        var (train, test, labels, trainPairs, dropped, headFrequency) = (counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
        Assert.InRange(train + test, 2000, 10_000);
        Assert.InRange(labels, 1000, 4000);
        Assert.InRange((double)test / (train + test), 0.2, 0.3);
        Assert.InRange((double)dropped / trainPairs, 0.2, 0.7);
        Assert.True(headFrequency >= 50, $"the most frequent label has only {headFrequency} points: the tail is not heavy");
    }

    [SkippableFact]
    public void The_README_states_the_counts_of_the_files_beside_it()
    {
        // Given
        PythonReference.Require("gzip", "json");
        var folder = DemoFolder();
        var readme = File.ReadAllText(Path.Combine(folder, "README.md"));

        // When
        var counts = PythonReference.RunCode(VerifyScript, folder).Trim().Split(' ');

        // Then
        Assert.Contains($"| train points | {counts[0]} |", readme, StringComparison.Ordinal);
        Assert.Contains($"| test points | {counts[1]} |", readme, StringComparison.Ordinal);
        Assert.Contains($"| labels | {counts[2]} |", readme, StringComparison.Ordinal);
        Assert.Contains($"| dropped train pairs | {counts[4]} |", readme, StringComparison.Ordinal);
    }

    private static string DemoFolder()
    {
        var root = PythonReference.RepositoryRoot;
        return Path.Combine(root, "artifacts", "datasets", "demo");
    }
}
