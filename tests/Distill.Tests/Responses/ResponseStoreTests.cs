using System.Text;
using Skim.Core;
using Skim.Distill.Responses;

namespace Skim.Distill.Tests.Responses;

public sealed class ResponseStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ResponseRecord Ok(string key, string text = "a query") =>
        new() { Key = key, Uid = "u-" + key, Index = 0, Status = ResponseRecord.Ok, Responses = [text], FinishReason = "stop", InputTokens = 10, OutputTokens = 3, Model = "m" };

    [Fact]
    public void Appended_records_are_read_back_and_the_first_answer_of_a_key_wins()
    {
        // Given a store with two answers for k1 and a failure for k2
        var path = _dir.File("responses.jsonl");
        using (var store = ResponseStore.Open(path))
        {
            store.Append(Ok("k1", "first"));
            store.Append(Ok("k1", "second"));
            store.Append(new ResponseRecord { Key = "k2", Uid = "u2", Status = ResponseRecord.Failed, Reason = "http_500" });
        }

        // When it is opened again
        using var reopened = ResponseStore.Open(path);

        // Then
        Assert.Equal(3, reopened.Records.Count);
        Assert.Equal("first", reopened.Answer("k1")!.Responses[0]);
        Assert.False(reopened.IsCompleted("k2"));
        Assert.Equal((1, 1), (reopened.CompletedCount, reopened.DuplicateAnswers));
        Assert.Empty(reopened.Warnings);
    }

    [Fact]
    public void Concurrent_appends_return_only_once_their_record_is_in_the_file_and_each_record_is_stored_once()
    {
        // Given a store and 64 writers appending 20 records each at the same time
        var path = _dir.File("responses.jsonl");
        var late = new List<string>();
        using (var store = ResponseStore.Open(path))
        {
            Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 64 }, writer =>
            {
                for (var i = 0; i < 20; i++)
                {
                    var key = $"w{writer}-{i}";
                    store.Append(Ok(key));

                    // Then, when Append returns, the record is visible and already in the file
                    using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                    var text = new StreamReader(reader).ReadToEnd();
                    if (!store.IsCompleted(key) || !text.Contains($"\"{key}\"", StringComparison.Ordinal))
                    {
                        lock (late)
                        {
                            late.Add(key);
                        }
                    }
                }
            });
            Assert.Equal(1280, store.Records.Count);
        }

        // And every record is in the file exactly once
        Assert.Empty(late);
        using var reopened = ResponseStore.Open(path);
        Assert.Equal(1280, reopened.Records.Select(r => r.Key).Distinct().Count());
        Assert.Equal(1280, reopened.CompletedCount);
        Assert.Empty(reopened.Warnings);
    }

    [Fact]
    public async Task A_record_queued_when_the_store_is_closed_is_still_written()
    {
        // Given appends racing with the close (a run stopping with answers in hand)
        var path = _dir.File("responses.jsonl");
        var store = ResponseStore.Open(path);
        var stored = new System.Collections.Concurrent.ConcurrentBag<string>();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    store.Append(Ok($"w{w}-{i}"));
                    stored.Add($"w{w}-{i}");
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
            }
        })).ToArray();
        await Task.Delay(5);
        store.Dispose();
        await Task.WhenAll(writers);

        // Then every append that returned normally is in the file
        using var reopened = ResponseStore.Open(path);
        Assert.All(stored, key => Assert.True(reopened.IsCompleted(key), key));
        Assert.Empty(reopened.Warnings);
    }

    [Fact]
    public void A_torn_last_line_is_dropped_with_a_warning_naming_the_line_and_truncated_away()
    {
        // Given two complete records and half of a third (a kill mid-write)
        var path = _dir.File("responses.jsonl");
        using (var store = ResponseStore.Open(path))
        {
            store.Append(Ok("k1"));
            store.Append(Ok("k2"));
            store.AppendTornForTest(Ok("k3"), 25);
        }
        var goodLength = File.ReadAllLines(path).Take(2).Sum(l => Encoding.UTF8.GetByteCount(l) + 1);

        // When
        using var reopened = ResponseStore.Open(path);

        // Then line 3 is named, dropped, and gone from the file; appending continues cleanly
        var warning = Assert.Single(reopened.Warnings);
        Assert.Contains("line 3", warning, StringComparison.Ordinal);
        Assert.Equal(goodLength, new FileInfo(path).Length);
        Assert.False(reopened.IsCompleted("k3"));
        reopened.Append(Ok("k3"));
        reopened.Dispose();
        using var third = ResponseStore.Open(path);
        Assert.Equal(3, third.CompletedCount);
        Assert.Empty(third.Warnings);
    }

    [Fact]
    public void A_corrupt_line_before_the_last_is_an_error_naming_the_file_and_line()
    {
        // Given a store whose second of three lines is not JSON
        var path = _dir.File("responses.jsonl");
        using (var store = ResponseStore.Open(path))
        {
            store.Append(Ok("k1"));
        }
        var good = File.ReadAllText(path);
        File.WriteAllText(path, good + "{not json\n" + good.Replace("k1", "k2", StringComparison.Ordinal));
        var before = File.ReadAllBytes(path);

        // When / Then
        var error = Assert.Throws<SkimFormatException>(() => ResponseStore.Open(path));
        Assert.Equal(path, error.Path);
        Assert.Equal("line 2", error.Location);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Nothing_is_created_until_the_first_record()
    {
        var path = _dir.File("sub/responses.jsonl");

        using (ResponseStore.Open(path))
        {
        }

        Assert.False(File.Exists(path));
    }

    [Fact]
    public void SKIM_provided_response_files_are_read_in_item_order_and_a_wrong_count_names_the_file()
    {
        // Given two files of the provided format
        var folder = _dir.File("provided");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "responses_2_to_4.json"), "[\"c\", \"d\"]");
        File.WriteAllText(Path.Combine(folder, "responses_0_to_2.json"), "[\"a\", \"b\"]");

        // When
        var files = SkimResponseFiles.Read(folder);

        // Then
        Assert.Equal([(0, 2), (2, 4)], files.Select(f => (f.Start, f.End)));
        Assert.Equal(["a", "b", "c", "d"], files.SelectMany(f => f.Responses));

        File.WriteAllText(Path.Combine(folder, "responses_4_to_7.json"), "[\"e\"]");
        var error = Assert.Throws<SkimFormatException>(() => SkimResponseFiles.Read(folder));
        Assert.Contains("responses_4_to_7.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("3 response strings", error.Message, StringComparison.Ordinal);
    }
}
