using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Skim.Distill.Teachers;

namespace Skim.Distill.Responses;

/// <summary>
/// The identity of one paid request: a SHA-256 over the template text, the item's uid, the rendered
/// prompt, the model and the sampling settings. Anything that would change the answer changes the
/// key, and nothing else does (concurrency, rate limits and timeouts are not in it), so a resumed or
/// re-configured run reuses every answer it already paid for.
/// </summary>
public static class RequestKey
{
    /// <summary>Computes the key (64 lower-case hex digits).</summary>
    public static string Compute(string templateText, string uid, string prompt, string model, TeacherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(templateText);
        ArgumentNullException.ThrowIfNull(uid);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        // A JSON array is an unambiguous encoding of the parts (no separator can be forged by a value).
        var parts = new JsonArray(
            "skim-step0-v1",
            templateText,
            uid,
            prompt,
            model,
            settings.MaxTokens,
            settings.Temperature.ToString("R", CultureInfo.InvariantCulture),
            new JsonArray([.. settings.Stop.Select(s => (JsonNode?)JsonValue.Create(s))]),
            settings.N,
            settings.SystemMessage);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(parts.ToJsonString())));
    }
}
