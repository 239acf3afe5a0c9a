using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Skim.Pipelines.Definition;

/// <summary>
/// Reads option values whose type parses itself from text (e.g. <c>ShardSpec</c> from "2/8"): the
/// text a user writes on the command line is what a pipeline file holds. Writes them as that text.
/// </summary>
internal sealed class ParsableConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        !typeToConvert.IsPrimitive && !typeToConvert.IsEnum && typeToConvert != typeof(string) && typeToConvert != typeof(decimal)
        && ParseMethod(typeToConvert) is not null;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert), ParseMethod(typeToConvert)!)!;

    private static MethodInfo? ParseMethod(Type type)
    {
        if (type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true)
        {
            return null;
        }
        return type.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name == "Parse" && m.ReturnType == type)
            .FirstOrDefault(m => m.GetParameters() is [{ ParameterType: var first }, ..] parameters
                && first == typeof(string)
                && parameters.Skip(1).All(p => p.HasDefaultValue));
    }

    private sealed class Converter<T>(MethodInfo parse) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
            var arguments = new object?[parse.GetParameters().Length];
            arguments[0] = text;
            for (var i = 1; i < arguments.Length; i++)
            {
                arguments[i] = Type.Missing;
            }
            try
            {
                return (T)parse.Invoke(null, BindingFlags.OptionalParamBinding, null, arguments, null)!;
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw new JsonException(e.InnerException.Message, e.InnerException);
            }
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value?.ToString());
    }
}
