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

/// <summary>
/// Bad values inside data the user gave (a NaN score, a row that does not fit a matrix, a negative
/// relevance). The library that finds the problem may not know which file the data came from: it
/// throws with the place (row, column, key), and a caller that opened the file adds it with
/// <see cref="InFile"/>. The CLI maps it, like every <see cref="SkimException"/>, to exit code 2.
/// </summary>
public sealed class SkimDataException : SkimException
{
    /// <summary>Creates a data error at <paramref name="location"/> (e.g. "row 3, label 7"), optionally in <paramref name="path"/>.</summary>
    public SkimDataException(string? path, string? location, string problem)
        : base(Compose(path, location, problem))
    {
        Path = path;
        Location = location;
        Problem = problem;
    }

    /// <summary>Creates a data error with a complete message.</summary>
    public SkimDataException(string message)
        : base(message)
    {
        Problem = message;
    }

    /// <summary>Creates a data error with a complete message and its cause.</summary>
    public SkimDataException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problem = message;
    }

    /// <summary>Creates a data error with no message.</summary>
    public SkimDataException()
    {
        Problem = "";
    }

    /// <summary>Gets the file the bad data came from, when known.</summary>
    public string? Path { get; }

    /// <summary>Gets where in the data the problem is (row, column, key), when known.</summary>
    public string? Location { get; }

    /// <summary>Gets what is wrong, with the expected and found values.</summary>
    public string Problem { get; }

    /// <summary>Returns the same error naming <paramref name="path"/> as the file it is in (this one if it names a file already).</summary>
    public SkimDataException InFile(string path) =>
        Path is not null ? this : new SkimDataException(path, Location, Problem);

    private static string Compose(string? path, string? location, string problem) =>
        string.Join(": ", new[] { path, location, problem }.Where(part => !string.IsNullOrEmpty(part)));
}
