using System.Collections.Concurrent;
using System.Globalization;
using Skim.Core.Stages;
using Skim.Distill.Teachers;

namespace Skim.Distill.Responses;

/// <summary>One request to send: its key, the item it is for and the rendered prompt.</summary>
/// <param name="Key">The request key (<see cref="RequestKey"/>).</param>
/// <param name="Index">The item's index.</param>
/// <param name="Uid">The item's uid.</param>
/// <param name="Prompt">The rendered prompt.</param>
public sealed record TeacherRequest(string Key, int Index, string Uid, string Prompt);

/// <summary>Prices per 1,000 tokens, for the cost estimate.</summary>
public sealed record TokenPrices
{
    /// <summary>Gets the price of 1,000 prompt tokens. Defaults to 0.</summary>
    public double InputPer1K { get; init; }

    /// <summary>Gets the price of 1,000 completion tokens. Defaults to 0.</summary>
    public double OutputPer1K { get; init; }

    /// <summary>Gets the cost of <paramref name="input"/> prompt and <paramref name="output"/> completion tokens.</summary>
    public double Cost(long input, long output) => ((input * InputPer1K) + (output * OutputPer1K)) / 1000.0;
}

/// <summary>What a collection did.</summary>
/// <param name="Total">Requests wanted.</param>
/// <param name="Reused">Requests already answered in the store (not sent).</param>
/// <param name="Sent">Requests sent in this run (retries not counted).</param>
/// <param name="Answered">Requests answered in this run.</param>
/// <param name="Failed">Requests that failed in this run (stored, retried next run).</param>
/// <param name="InputTokens">Prompt tokens billed in this run.</param>
/// <param name="OutputTokens">Completion tokens billed in this run.</param>
/// <param name="FailureReasons">Failures by reason.</param>
/// <param name="Cancelled">Whether cancellation stopped the sending before every request was sent.</param>
public sealed record CollectionResult(int Total, int Reused, int Sent, int Answered, int Failed, long InputTokens, long OutputTokens, IReadOnlyDictionary<string, int> FailureReasons, bool Cancelled);

/// <summary>
/// Sends the requests the store has no answer for, at most <c>concurrency</c> at a time, and stores
/// each answer or failure as it arrives. Cancellation stops the sending; the requests in flight are
/// still awaited and stored (they are paid for), so a cancelled run repeats nothing when resumed.
/// An unreachable endpoint (after the client's retries) or a failing store stops the sending too,
/// and is rethrown once the requests in flight have ended.
/// </summary>
public static class ResponseCollector
{
    /// <summary>The progress phase.</summary>
    public const string Phase = "teacher";

    /// <summary>Runs the collection.</summary>
    /// <param name="client">The teacher.</param>
    /// <param name="store">Where answers go.</param>
    /// <param name="requests">Every request wanted (answered ones are skipped).</param>
    /// <param name="settings">Sampling settings.</param>
    /// <param name="concurrency">The most requests in flight.</param>
    /// <param name="prices">Prices for the cost shown in progress.</param>
    /// <param name="progress">Progress (requests done of total, tokens, cost, failures).</param>
    /// <param name="ct">Stops the sending (in-flight requests still end and are stored).</param>
    /// <exception cref="OperationCanceledException">Cancelled (after storing the requests in flight).</exception>
    /// <exception cref="TeacherRequestException">The endpoint is unreachable.</exception>
    public static async Task<CollectionResult> RunAsync(ITeacherClient client, ResponseStore store, IReadOnlyList<TeacherRequest> requests, TeacherSettings settings, int concurrency, TokenPrices prices, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(prices);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var pending = new List<TeacherRequest>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reused = 0;
        foreach (var request in requests)
        {
            if (!seen.Add(request.Key))
            {
                continue;
            }
            if (store.IsCompleted(request.Key))
            {
                reused++;
            }
            else
            {
                pending.Add(request);
            }
        }
        var total = seen.Count;
        var state = new State(reused);
        void Report() => progress?.Report(new StageProgress(Phase, state.Done, total, "requests", state.Detail(prices)));
        Report();
        using var slots = new SemaphoreSlim(concurrency);
        var inFlight = new List<Task>();
        var cancelled = false;
        foreach (var request in pending)
        {
            if (state.Abort is not null)
            {
                break;
            }
            try
            {
                await slots.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
                break;
            }
            if (state.Abort is not null)
            {
                slots.Release();
                break;
            }
            if (ct.IsCancellationRequested)
            {
                slots.Release();
                cancelled = true;
                break;
            }
            Interlocked.Increment(ref state.Sent);
            // In-flight requests never see the stop token: an answer on its way is paid for and kept.
            inFlight.Add(Task.Run(async () =>
            {
                try
                {
                    Store(store, client, request, await client.CompleteAsync(request.Prompt, settings, CancellationToken.None).ConfigureAwait(false), state);
                }
                catch (TeacherRequestException e) when (!e.IsUnreachable)
                {
                    StoreFailure(store, client, request, e.Reason, e.Message, state);
                }
                catch (Exception e)
                {
                    // Set before the slot is released, so the loop sends nothing more.
                    state.Abort ??= e;
                }
                finally
                {
                    slots.Release();
                    Report();
                }
            }, CancellationToken.None));
        }
        await Task.WhenAll(inFlight).ConfigureAwait(false);
        Report();
        if (state.Abort is { } abort)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(abort);
        }
        if (cancelled || (ct.IsCancellationRequested && state.Sent < pending.Count))
        {
            throw new OperationCanceledException("the teacher run was cancelled; answers in flight were stored", ct);
        }
        return new CollectionResult(total, reused, state.Sent, state.Answered, state.Failed, state.InputTokens, state.OutputTokens, new Dictionary<string, int>(state.Reasons, StringComparer.Ordinal), false);
    }

    private static void Store(ResponseStore store, ITeacherClient client, TeacherRequest request, TeacherAnswer answer, State state)
    {
        if (answer.IsContentFiltered)
        {
            Interlocked.Add(ref state.InputTokens, answer.InputTokens);
            Interlocked.Add(ref state.OutputTokens, answer.OutputTokens);
            StoreFailure(store, client, request, TeacherAnswer.ContentFilter, "the teacher's content filter refused the prompt or the answer", state, answer);
            return;
        }
        store.Append(new ResponseRecord
        {
            Key = request.Key,
            Index = request.Index,
            Uid = request.Uid,
            Status = ResponseRecord.Ok,
            Responses = answer.Texts,
            FinishReason = answer.FinishReason,
            InputTokens = answer.InputTokens,
            OutputTokens = answer.OutputTokens,
            Model = client.Model,
        });
        Interlocked.Add(ref state.InputTokens, answer.InputTokens);
        Interlocked.Add(ref state.OutputTokens, answer.OutputTokens);
        Interlocked.Increment(ref state.Answered);
        Interlocked.Increment(ref state.DoneCount);
    }

    private static void StoreFailure(ResponseStore store, ITeacherClient client, TeacherRequest request, string reason, string message, State state, TeacherAnswer? answer = null)
    {
        store.Append(new ResponseRecord
        {
            Key = request.Key,
            Index = request.Index,
            Uid = request.Uid,
            Status = ResponseRecord.Failed,
            FinishReason = answer?.FinishReason,
            Reason = reason,
            Error = message,
            InputTokens = answer?.InputTokens ?? 0,
            OutputTokens = answer?.OutputTokens ?? 0,
            Model = client.Model,
        });
        state.Reasons.AddOrUpdate(reason, 1, (_, n) => n + 1);
        Interlocked.Increment(ref state.Failed);
        Interlocked.Increment(ref state.DoneCount);
    }

    private sealed class State(int reused)
    {
        public int Sent;
        public int Answered;
        public int Failed;
        public int DoneCount = reused;
        public long InputTokens;
        public long OutputTokens;
        public volatile Exception? Abort;
        public readonly ConcurrentDictionary<string, int> Reasons = new(StringComparer.Ordinal);

        public long Done => Volatile.Read(ref DoneCount);

        public string Detail(TokenPrices prices)
        {
            var input = Interlocked.Read(ref InputTokens);
            var output = Interlocked.Read(ref OutputTokens);
            return string.Create(CultureInfo.InvariantCulture, $"{input + output:N0} tokens, cost {prices.Cost(input, output):F2}, {Volatile.Read(ref Failed)} failed");
        }
    }
}
