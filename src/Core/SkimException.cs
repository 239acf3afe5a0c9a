namespace Skim.Core;

/// <summary>
/// Base of the errors Skim reports to a user as one line (file, line or key, expected and found).
/// The CLI maps these to a non-zero exit code and prints a stack trace only with --verbose.
/// </summary>
public class SkimException : Exception
{
    /// <summary>Creates an error with a one-line message.</summary>
    public SkimException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an error with a one-line message and the exception that caused it.</summary>
    public SkimException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an error with no message; prefer the overloads that say what went wrong.</summary>
    public SkimException()
    {
    }
}

/// <summary>A file that does not follow its format: the message names the file and the place.</summary>
public sealed class SkimFormatException : SkimException
{
    /// <summary>Creates a format error for <paramref name="path"/> at <paramref name="location"/> (e.g. "line 3").</summary>
    public SkimFormatException(string path, string? location, string problem)
        : base(location is null ? $"{path}: {problem}" : $"{path}: {location}: {problem}")
    {
        Path = path;
        Location = location;
    }

    /// <summary>Creates a format error with a complete message.</summary>
    public SkimFormatException(string message)
        : base(message)
    {
        Path = "";
    }

    /// <summary>Creates a format error with a complete message and its cause.</summary>
    public SkimFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = "";
    }

    /// <summary>Creates a format error with no message.</summary>
    public SkimFormatException()
    {
        Path = "";
    }

    /// <summary>Gets the file that is malformed.</summary>
    public string Path { get; }

    /// <summary>Gets where in the file the problem is (line, member, key), when known.</summary>
    public string? Location { get; }
}

/// <summary>An invalid option, pipeline key or command-line value: the message names the key and value.</summary>
public sealed class SkimConfigException : SkimException
{
    /// <summary>Creates a configuration error with a one-line message.</summary>
    public SkimConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates a configuration error with a one-line message and its cause.</summary>
    public SkimConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates a configuration error with no message.</summary>
    public SkimConfigException()
    {
    }
}
