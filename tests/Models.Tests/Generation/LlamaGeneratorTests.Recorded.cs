using Skim.Models.Generation;
using Skim.Models.Tests.Llama;

namespace Skim.Models.Tests.Generation;

// Golden values of the generation loop as it was before it was split into steps and before stop
// strings were checked on a tail window. They were recorded by running the same prompts and options
// through the previous LlamaGenerator.Generate (the one long loop) and printing every sequence's
// ids, text and finish reason. The stop strings are substrings that a first recording without them
// showed half-way through some rows, so that stop strings, EOS and the length limit all finish rows,
// and the bulk drop of finished rows happens mid-batch.
public sealed partial class LlamaGeneratorTests
{
    private static readonly string[] s_recordedPrompts = ["a", "hello", "the quick brown", "xyz12", "!!", "Q", "some longer prompt text here", "ok?"];

    private static readonly IReadOnlyList<Recorded> s_recordedA =
    [
        new(0, FinishReason.Length, [110, 87, 16, 114, 90, 71, 104, 3, 6, 40, 8, 114, 28, 8, 120, 91, 21, 102, 41, 90, 11, 83, 30, 127], "\u008Cu.\u0090xe\u0086!$F\u0026\u0090:\u0026\u0096y3\u0084Gx)q\u003C\u009D"),
        new(1, FinishReason.StopString, [16, 28, 28, 104, 4, 119, 7, 28, 35, 28, 65, 58], ".::\u0086\u0022\u0095%:A:"),
        new(2, FinishReason.Eos, [5, 91, 94, 78, 66, 87, 80, 117, 90, 90, 108], "#y|l\u0060un\u0093xx\u008A"),
        new(3, FinishReason.Length, [73, 118, 93, 112, 9, 109, 34, 80, 118, 55, 120, 91, 77, 127, 50, 36, 28, 28, 102, 21, 78, 91, 37, 28], "g\u0094{\u008E\u0027\u008B@n\u0094U\u0096yk\u009DPB::\u00843lyC:"),
        new(4, FinishReason.StopString, [52, 55, 34, 90, 47, 90, 123, 111, 9, 91, 48, 19, 35, 68, 11, 89, 120, 48, 80], "RU@xMx\u0099\u008D\u0027yN1Ab)w\u0096"),
        new(5, FinishReason.Eos, [72, 68, 9, 92, 18, 87, 66, 73, 108], "fb\u0027z0u\u0060g\u008A"),
        new(6, FinishReason.Length, [116, 118, 122, 100, 86, 56, 44, 109, 111, 124, 110, 18, 53, 112, 86, 18, 56, 9, 10, 78, 56, 30, 73, 81], "\u0092\u0094\u0098\u0082tVJ\u008B\u008D\u009A\u008C0S\u008Et0V\u0027(lV\u003Cgo"),
        new(7, FinishReason.Length, [48, 99, 16, 90, 72, 48, 45, 91, 60, 44, 56, 77, 106, 91, 60, 33, 36, 58, 93, 112, 40, 23, 120, 117], "N\u0081.xfNKyZJVk\u0088yZ?BX{\u008EF5\u0096\u0093"),
    ];

    private static readonly IReadOnlyList<Recorded> s_recordedB =
    [
        new(0, FinishReason.Length, [90, 126, 34, 60, 61, 34, 124, 120, 112, 118, 118, 63, 114, 86, 33, 25, 110, 56, 68, 51], "x\u009C@Z[@\u009A\u0096\u008E\u0094\u0094]\u0090t?7\u008CVbQ"),
        new(1, FinishReason.Length, [48, 91, 42, 111, 114, 123, 36, 61, 76, 122, 89, 7, 21, 96, 80, 81, 15, 111, 63, 72], "NyH\u008D\u0090\u0099B[j\u0098w%3~no-\u008D]f"),
        new(2, FinishReason.Length, [7, 35, 86, 47, 111, 19, 105, 16, 111, 118, 53, 61, 64, 62, 120, 33, 90, 122, 92, 58], "%AtM\u008D1\u0087.\u008D\u0094S[^\\\u0096?x\u0098zX"),
        new(3, FinishReason.Eos, [108], "\u008A"),
        new(4, FinishReason.StopString, [68, 109, 16, 17, 81, 18, 5, 28, 33], "b\u008B./o0#"),
        new(5, FinishReason.Length, [87, 48, 16, 94, 80, 50, 7, 72, 21, 105, 16, 82, 43, 111, 120, 47, 4, 66, 21, 21], "uN.|nP%f3\u0087.pI\u008D\u0096M\u0022\u006033"),
        new(6, FinishReason.Length, [121, 40, 36, 2, 86, 56, 81, 49, 111, 89, 15, 36, 17, 66, 111, 89, 66, 78, 16, 17], "\u0097FBtVoO\u008Dw-B/\u0060\u008Dw\u0060l./"),
        new(7, FinishReason.Eos, [102, 81, 92, 44, 73, 81, 12, 87, 122, 91, 72, 108], "\u0084ozJgo*u\u0098yf\u008A"),
    ];

    public static TheoryData<string> RecordedRuns => ["A", "B"];

    [Theory]
    [MemberData(nameof(RecordedRuns))]
    public async Task Refactored_loop_gives_the_same_tokens_texts_and_finish_reasons_as_recorded_from_the_previous_loop(string run)
    {
        // Given the tiny model, the character tokenizer, eight text prompts of different lengths, top-k
        // sampling, EOS id 108 and stop strings that occur in the middle of some continuations; run A
        // decodes all eight in one batch, run B in batches of 3, 3 and 2 sharing one sampler
        using var model = LlamaFixtures.Create();
        var generator = new LlamaGenerator(model, new CharacterTokenizer());
        var shared = new GenerationOptions { EosTokenIds = [108], StopStrings = ["x:", "tG", "_X", ":?", "Nn", "xE"] };
        var (options, expected) = run == "A"
            ? (shared with { MaxNewTokens = 24, Temperature = 0.9, TopK = 20, Seed = 11, BatchSize = 8 }, s_recordedA)
            : (shared with { MaxNewTokens = 20, Temperature = 1.2, TopK = 30, TopP = 0.95, Seed = 2024, BatchSize = 3 }, s_recordedB);

        // When the prompts are generated
        var generated = new List<GeneratedSequence>();
        await foreach (var batch in generator.GenerateAsync(s_recordedPrompts, options))
        {
            generated.AddRange(batch);
        }

        // Then every sequence has the recorded ids, text and finish reason
        Assert.Equal(expected.Count, generated.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Index, generated[i].Index);
            Assert.Equal(expected[i].TokenIds, generated[i].TokenIds);
            Assert.Equal(expected[i].Text, generated[i].Text);
            Assert.Equal(expected[i].Finish, generated[i].Finish);
        }
    }

    private sealed record Recorded(int Index, FinishReason Finish, int[] TokenIds, string Text);
}
